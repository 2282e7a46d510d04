vcl 4.1;
# Varnish with its defaults: honours Cache-Control, collapses concurrent misses (waiting list).
backend origin { .host = "127.0.0.1"; .port = "{origin_port}"; }
