#!/bin/sh
# tls_park_nginx.sh [N]: what nginx's worker spends per TLS connection, to set
# beside bench/tls_park (Rampart). Two figures, both from the worker's VmRSS:
#   idle:   TLS handshake done, no request yet (nginx's keep-alive state,
#           its buffers released);
#   parked: a request proxied to an upstream that never answers (the nearest
#           nginx has to a parked Ping; includes the upstream connection).
# Same OpenSSL (Debian 12's 3.0), same key type (ECDSA P-256), one worker.
set -eu
N=${1:-2000}
command -v nginx >/dev/null || { echo "nginx not installed (apt-get install nginx-light)"; exit 1; }
ulimit -n 20000
dir=$(mktemp -d /tmp/tls_park_nginx.XXXXXX)
trap 'kill $(cat "$dir/nginx.pid" 2>/dev/null) 2>/dev/null || true; kill $hole 2>/dev/null || true; rm -rf "$dir"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
port=18443
hole_port=18444
cat > "$dir/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile 20000;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 16000; }
http {
  access_log off;
  client_header_timeout 1h;
  keepalive_timeout 1h;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_tickets off;
  server {
    listen 127.0.0.1:$port ssl;
    ssl_certificate $dir/cert.pem;
    ssl_certificate_key $dir/key.pem;
    location / { proxy_pass http://127.0.0.1:$hole_port; proxy_read_timeout 1h; }
  }
}
EOF
# An upstream that accepts and never answers.
python3 - "$hole_port" <<'EOF' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4096)
held = []
while True:
    held.append(s.accept()[0])
EOF
hole=$!
# A fresh nginx for each mode: memory freed by one run would be reused by the next.
for mode in idle parked; do
  nginx -c "$dir/nginx.conf" -p "$dir"
  sleep 1
  worker=$(pgrep -P "$(cat "$dir/nginx.pid")" | head -1)
  python3 - "$port" "$N" "$worker" "$mode" <<'EOF'
import socket, ssl, sys, time
port, n, worker, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
def rss():
    for line in open(f"/proc/{worker}/status"):
        if line.startswith("VmRSS:"): return int(line.split()[1]) * 1024
def open_conns(k):
    out = []
    for _ in range(k):
        c = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)))
        if mode == "parked":
            c.sendall(b"POST /Microsoft-Server-ActiveSync?Cmd=Ping HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        out.append(c)
    time.sleep(1)
    return out
warm = open_conns(100)
before = rss()
conns = open_conns(n)
after = rss()
print(f"nginx {mode}: connections={n} rss_per_conn={(after - before) / n:.0f} B")
EOF
  nginx -c "$dir/nginx.conf" -p "$dir" -s stop
  sleep 1
done
