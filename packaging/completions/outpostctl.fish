function __outpostctl_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __outpostctl_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __outpostctl_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __outpostctl_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __outpostctl_parse_tokens -S
    set -l unparsed_tokens (__outpostctl_tokens -pc)
    switch $unparsed_tokens[1]
    case 'outpostctl'
        __outpostctl_parse_subcommand 0 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'check'
            __outpostctl_parse_subcommand 1 'header=+' 'head' 'json' 'timeout=' 'version' 'h/help'
        case 'stats'
            __outpostctl_parse_subcommand 0 'cache-dir=' 'admin=' 'token=' 'json' 'hosts=' 'version' 'h/help'
        case 'top'
            __outpostctl_parse_subcommand 0 'admin=' 'token=' 'json' 'interval=' 'count=' 'rows=' 'version' 'h/help'
        case 'purge'
            __outpostctl_parse_subcommand 1 'prefix=' 'tag=' 'all' 'soft' 'dry-run' 'admin=' 'token=' 'json' 'version' 'h/help'
        case 'ls'
            __outpostctl_parse_subcommand 0 'cache-dir=' 'admin=' 'token=' 'json' 'prefix=' 'host=' 'tag=' 'status=' 'min-size=' 'fresh' 'stale' 'sort=' 'limit=' 'version' 'h/help'
        case 'inspect'
            __outpostctl_parse_subcommand 1 'cache-dir=' 'admin=' 'token=' 'json' 'version' 'h/help'
        case 'warm'
            __outpostctl_parse_subcommand 1 'node=' 'concurrency=' 'timeout=' 'json' 'version' 'h/help'
        case 'reload'
            __outpostctl_parse_subcommand 0 'admin=' 'token=' 'json' 'version' 'h/help'
        case 'hash-password'
            __outpostctl_parse_subcommand 1 'rounds=' 'version' 'h/help'
        case 'help'
            __outpostctl_parse_subcommand -r 1 'version'
        end
    end
end

function __outpostctl_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __outpostctl_parse_subcommand -S -a positional_count
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

function __outpostctl_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __outpostctl_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__outpostctl_tokens -p)
    if test -z "$(__outpostctl_tokens -t)"
        set -l index (count (__outpostctl_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'outpostctl' -f
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl" version' -l 'version' -d 'Show the version.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_positional "outpostctl" -eq 1' -fa 'check' -d 'Request a URL through a node and explain how the cache answered.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_positional "outpostctl" -eq 1' -fa 'stats' -d 'A node\'s requests, hit ratios, tiers and origins (or, with --cache-dir, what its index holds).'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_positional "outpostctl" -eq 1' -fa 'top' -d 'A live view of a node: requests per second, hit ratios, busiest keys and hosts, origin health.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_positional "outpostctl" -eq 1' -fa 'purge' -d 'Remove (or, with --soft, mark stale) stored responses by URL, prefix, tag, or all of them.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_positional "outpostctl" -eq 1' -fa 'ls' -d 'List stored responses.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_positional "outpostctl" -eq 1' -fa 'inspect' -d 'Show every stored variant of a URL.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_positional "outpostctl" -eq 1' -fa 'warm' -d 'Request every URL in a file through a node, so that its cache holds them.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_positional "outpostctl" -eq 1' -fa 'reload' -d 'Re-read the node\'s config file, rules file and certificates, and apply what can change live.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_positional "outpostctl" -eq 1' -fa 'hash-password' -d 'Print a forward-proxy users-file line for NAME, reading the password from standard input.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_positional "outpostctl" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl check"' -l 'header' -d 'An extra request header, \'Name: value\' (repeatable).' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl check" head' -l 'head' -d 'Send HEAD instead of GET.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl check" json' -l 'json' -d 'Print JSON instead of a table.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl check" timeout' -l 'timeout' -d 'Seconds to wait for the answer.' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl check" version' -l 'version' -d 'Show the version.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl check" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl stats" cache-dir' -l 'cache-dir' -d 'Read this cache directory\'s index instead of asking a node.' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl stats" admin' -l 'admin' -d 'The node\'s admin API (default: http://127.0.0.1:8081).' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl stats" token' -l 'token' -d 'The admin token (default: the OUTPOST_ADMIN_TOKEN environment variable).' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl stats" json' -l 'json' -d 'Print JSON instead of a table.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl stats" hosts' -l 'hosts' -d 'Rows of hosts to show.' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl stats" version' -l 'version' -d 'Show the version.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl stats" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl top" admin' -l 'admin' -d 'The node\'s admin API (default: http://127.0.0.1:8081).' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl top" token' -l 'token' -d 'The admin token (default: the OUTPOST_ADMIN_TOKEN environment variable).' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl top" json' -l 'json' -d 'Print JSON instead of a table.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl top" interval' -l 'interval' -d 'Seconds between refreshes.' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl top" count' -l 'count' -d 'Stop after this many refreshes.' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl top" rows' -l 'rows' -d 'Rows of keys and of hosts to show.' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl top" version' -l 'version' -d 'Show the version.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl top" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl purge" prefix' -l 'prefix' -d 'http://host/path (that scheme), host/path (both schemes) or /path (every host).' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl purge" tag' -l 'tag' -d 'A Surrogate-Key, Cache-Tag or Cache-Groups value.' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl purge" all' -l 'all' -d 'Everything stored.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl purge" soft' -l 'soft' -d 'Mark stale instead of removing: the next request revalidates.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl purge" dry-run' -l 'dry-run' -d 'Count what would be purged; change nothing.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl purge" admin' -l 'admin' -d 'The node\'s admin API (default: http://127.0.0.1:8081).' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl purge" token' -l 'token' -d 'The admin token (default: the OUTPOST_ADMIN_TOKEN environment variable).' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl purge" json' -l 'json' -d 'Print JSON instead of a table.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl purge" version' -l 'version' -d 'Show the version.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl purge" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl ls" cache-dir' -l 'cache-dir' -d 'Read this cache directory\'s index instead of asking a node.' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl ls" admin' -l 'admin' -d 'The node\'s admin API (default: http://127.0.0.1:8081).' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl ls" token' -l 'token' -d 'The admin token (default: the OUTPOST_ADMIN_TOKEN environment variable).' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl ls" json' -l 'json' -d 'Print JSON instead of a table.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl ls" prefix' -l 'prefix' -d 'A URL prefix (http://host/path) or a path prefix (/img/).' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl ls" host' -l 'host' -d 'Only this host.' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl ls" tag' -l 'tag' -d 'Only objects with this tag (Surrogate-Key, Cache-Tag, Cache-Groups).' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl ls" status' -l 'status' -d 'Only this status code.' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl ls" min-size' -l 'min-size' -d 'Only bodies of at least this many bytes.' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl ls" fresh' -l 'fresh' -d 'Only fresh objects.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl ls" stale' -l 'stale' -d 'Only stale objects.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl ls" sort' -l 'sort' -d 'Sort by size, hits or age.' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl ls" limit' -l 'limit' -d 'At most this many rows.' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl ls" version' -l 'version' -d 'Show the version.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl ls" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl inspect" cache-dir' -l 'cache-dir' -d 'Read this cache directory\'s index instead of asking a node.' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl inspect" admin' -l 'admin' -d 'The node\'s admin API (default: http://127.0.0.1:8081).' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl inspect" token' -l 'token' -d 'The admin token (default: the OUTPOST_ADMIN_TOKEN environment variable).' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl inspect" json' -l 'json' -d 'Print JSON instead of a table.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl inspect" version' -l 'version' -d 'Show the version.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl inspect" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl warm" node' -l 'node' -d 'The node\'s public listener.' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl warm" concurrency' -l 'concurrency' -d 'Requests in flight at once.' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl warm" timeout' -l 'timeout' -d 'Seconds to wait for each answer.' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl warm" json' -l 'json' -d 'Print JSON instead of a table.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl warm" version' -l 'version' -d 'Show the version.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl warm" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl reload" admin' -l 'admin' -d 'The node\'s admin API (default: http://127.0.0.1:8081).' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl reload" token' -l 'token' -d 'The admin token (default: the OUTPOST_ADMIN_TOKEN environment variable).' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl reload" json' -l 'json' -d 'Print JSON instead of a table.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl reload" version' -l 'version' -d 'Show the version.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl reload" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl hash-password" rounds' -l 'rounds' -d 'PBKDF2 rounds (default 210000, OWASP\'s figure for PBKDF2-SHA256 in 2023).' -rfka ''
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl hash-password" version' -l 'version' -d 'Show the version.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl hash-password" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'outpostctl' -n '__outpostctl_should_offer_completions_for_flags_or_options "outpostctl help" version' -l 'version' -d 'Show the version.'
