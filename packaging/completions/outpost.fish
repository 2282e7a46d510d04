function __outpost_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __outpost_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __outpost_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __outpost_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __outpost_parse_tokens -S
    set -l unparsed_tokens (__outpost_tokens -pc)
    switch $unparsed_tokens[1]
    case 'outpost'
        __outpost_parse_subcommand 0 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'serve'
            __outpost_parse_subcommand 0 'config=' 'listen=+' 'tls-listen=+' 'forward-listen=+' 'anonymity=' 'anonymous-user-agent=' 'tunnel-idle-timeout=' 'tunnel-lifetime=' 'max-tunnels-per-client=' 'tls-certificate=+' 'tls-key=+' 'http2=' 'origin=+' 'admin-listen=' 'admin-token=' 'cache-dir=' 'memory-size=' 'disk-size=' 'warm-memory=' 'log-level=' 'log-format=' 'access-log=' 'access-log-format=' 'threads=' 'connect-timeout=' 'response-head-timeout=' 'idle-body-timeout=' 'origin-backoff=' 'origin-ca-file=+' 'origin-tls-verify=' 'origin-sni=' 'origin-client-certificate=' 'origin-client-key=' 'header-read-timeout=' 'request-body-timeout=' 'keep-alive-timeout=' 'max-request-target=' 'max-header-size=' 'max-headers=' 'max-request-body=' 'max-connections=' 'host-header=' 'forwarded-for=' 'forwarded-proto=' 'via-name=' 'server-header=' 'policy=' 'shutdown-grace=' 'version' 'h/help'
        case 'demo'
            __outpost_parse_subcommand 0 'requests=' 'concurrency=' 'urls=' 'seconds=' 'version' 'h/help'
        case 'help'
            __outpost_parse_subcommand -r 1 'version'
        end
    end
end

function __outpost_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __outpost_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __outpost_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __outpost_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__outpost_tokens -p)
    if test -z "$(__outpost_tokens -t)"
        set -l index (count (__outpost_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'outpost' -f
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost" version' -l 'version' -d 'Show the version.'
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'outpost' -n '__outpost_should_offer_completions_for_positional "outpost" -eq 1' -fa 'serve' -d 'Run the edge node in front of one or more origins.'
complete -c 'outpost' -n '__outpost_should_offer_completions_for_positional "outpost" -eq 1' -fa 'demo' -d 'Run a self-contained demonstration: sample origin, node, a burst of requests, a report.'
complete -c 'outpost' -n '__outpost_should_offer_completions_for_positional "outpost" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" config' -l 'config' -d 'YAML configuration file.' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve"' -l 'listen' -d 'Public HTTP listener, HOST:PORT (repeatable; default 127.0.0.1:8080 unless only --tls-listen is given).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve"' -l 'tls-listen' -d 'Public HTTPS listener (TLS 1.2/1.3, HTTP/2 by ALPN), HOST:PORT (repeatable).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve"' -l 'forward-listen' -d 'Forward proxy listener, HOST:PORT (repeatable): absolute-form requests and CONNECT, under the rules file\'s access rules.' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" anonymity' -l 'anonymity' -d 'What forward listeners tell origins about clients: off, standard (no X-Forwarded-For, Forwarded) or strict (also no From, cross-origin Referer, client hints) (default standard).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" anonymous-user-agent' -l 'anonymous-user-agent' -d 'Under --anonymity strict, the User-Agent sent instead of every client\'s (default: the client\'s).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" tunnel-idle-timeout' -l 'tunnel-idle-timeout' -d 'A CONNECT tunnel with no bytes either way closes after this (default 5m).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" tunnel-lifetime' -l 'tunnel-lifetime' -d 'A CONNECT tunnel closes after this whatever it carries (default 1h).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" max-tunnels-per-client' -l 'max-tunnels-per-client' -d 'Most CONNECT tunnels one client address may hold open (default 64).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve"' -l 'tls-certificate' -d 'PEM certificate chain for the TLS listeners (repeatable, paired in order with --tls-key; chosen by SNI, the first is the default).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve"' -l 'tls-key' -d 'PEM private key of the --tls-certificate in the same position (repeatable).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" http2' -l 'http2' -d 'HTTP/2 on the TLS listeners: on or off (default on).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve"' -l 'origin' -d 'Origin URL, http:// or https:// (repeat for several; round robin).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" admin-listen' -l 'admin-listen' -d 'Admin listener, HOST:PORT or off (default 127.0.0.1:8081).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" admin-token' -l 'admin-token' -d 'Admin API bearer token (default: $OUTPOST_ADMIN_TOKEN, else a generated token file in the cache directory).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" cache-dir' -l 'cache-dir' -d 'Cache directory (default ./outpost-cache).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" memory-size' -l 'memory-size' -d 'Memory cache bound, e.g. 256MiB (default 256MiB).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" disk-size' -l 'disk-size' -d 'Disk cache bound, e.g. 2GiB (default 2GiB).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" warm-memory' -l 'warm-memory' -d 'At start-up, promote up to this many bytes of the most recently used disk objects into memory, in the background; 0 turns it off (default: half of --memory-size).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" log-level' -l 'log-level' -d 'trace, debug, info, notice, warning, error or critical (default info).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" log-format' -l 'log-format' -d 'Application log lines: text or json (default text).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" access-log' -l 'access-log' -d 'Access log: stdout, a file path (reopened on SIGUSR1), or off (default stdout).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" access-log-format' -l 'access-log-format' -d 'Access log lines: combined (Apache/nginx, plus cache outcome, seconds, Cache-Status, origin) or json (default combined).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" threads' -l 'threads' -d 'Event loop threads (default: one per core).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" connect-timeout' -l 'connect-timeout' -d 'Origin connect timeout (default 2s).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" response-head-timeout' -l 'response-head-timeout' -d 'Wait for an origin\'s response head (default 30s).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" idle-body-timeout' -l 'idle-body-timeout' -d 'Longest pause inside an origin\'s response body (default 30s).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" origin-backoff' -l 'origin-backoff' -d 'First back-off after an origin\'s connect fails; doubles up to 30s (default 2s).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve"' -l 'origin-ca-file' -d 'PEM file of CA certificates trusted for https origins, besides the system roots (repeatable).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" origin-tls-verify' -l 'origin-tls-verify' -d 'Verify https origins\' certificates: full or none (default full; none is logged loudly).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" origin-sni' -l 'origin-sni' -d 'Server name sent to and verified for https origins (default: each origin\'s host name).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" origin-client-certificate' -l 'origin-client-certificate' -d 'PEM certificate chain presented to https origins that ask for one (mutual TLS).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" origin-client-key' -l 'origin-client-key' -d 'PEM private key of --origin-client-certificate.' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" header-read-timeout' -l 'header-read-timeout' -d 'Time a client has to send a whole request head (default 10s).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" request-body-timeout' -l 'request-body-timeout' -d 'Longest pause inside a request body before 408 (default 30s).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" keep-alive-timeout' -l 'keep-alive-timeout' -d 'Idle keep-alive connections close after this (default 60s).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" max-request-target' -l 'max-request-target' -d 'Longest request target, 414 past it (default 8KiB).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" max-header-size' -l 'max-header-size' -d 'Largest request head, 431 past it (default 32KiB).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" max-headers' -l 'max-headers' -d 'Most request header lines, 431 past it (default 100).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" max-request-body' -l 'max-request-body' -d 'Largest request body, 413 past it (default 100MiB).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" max-connections' -l 'max-connections' -d 'Most client connections at once (default 10000).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" host-header' -l 'host-header' -d 'preserve (forward the client\'s Host) or origin (default preserve).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" forwarded-for' -l 'forwarded-for' -d 'X-Forwarded-For: append, replace or off (default append).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" forwarded-proto' -l 'forwarded-proto' -d 'Set X-Forwarded-Proto: true or false (default true).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" via-name' -l 'via-name' -d 'Pseudonym in Via headers (default outpost).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" server-header' -l 'server-header' -d 'Server header sent to clients; "origin" keeps the origin\'s, "" removes it (default Outpost).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" policy' -l 'policy' -d 'Cache rules file (default: the embedded cache-policy/default.yaml).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" shutdown-grace' -l 'shutdown-grace' -d 'On SIGTERM/SIGINT, how long in-flight requests may finish (default 30s).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" version' -l 'version' -d 'Show the version.'
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost serve" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost demo" requests' -l 'requests' -d 'Requests to send (1 to 1000000).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost demo" concurrency' -l 'concurrency' -d 'Requests in flight at once (1 to 256).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost demo" urls' -l 'urls' -d 'Distinct URLs the requests are drawn from (Zipf-distributed).' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost demo" seconds' -l 'seconds' -d 'Stop sending after this many seconds even if requests remain.' -rfka ''
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost demo" version' -l 'version' -d 'Show the version.'
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost demo" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'outpost' -n '__outpost_should_offer_completions_for_flags_or_options "outpost help" version' -l 'version' -d 'Show the version.'
