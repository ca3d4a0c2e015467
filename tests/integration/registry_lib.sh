# A real registry for the image tests (sourced after tests/integration/lib.sh):
# Debian's docker-registry on 127.0.0.1:<free port>, storage in $WORK, and
# test images pushed into it with docker.  skip() exits 77 (a failure
# under CORRAL_REQUIRE_BACKENDS) when the tools are missing.
skip() { if [ -n "${CORRAL_REQUIRE_BACKENDS:-}" ]; then echo "not ok - $*"; exit 1; fi; echo "skipped: $*"; exit 77; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_registry [EXTRA YAML]: sets REG (127.0.0.1:PORT) and REG_PID; a
# restart keeps the port and the storage.
start_registry() {
  command -v docker-registry >/dev/null || skip "docker-registry is not installed"
  local port=${REG_PORT:=$(free_port)}
  REG=127.0.0.1:$port
  mkdir -p "$WORK/registry"
  cat >"$WORK/registry.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $WORK/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
${1:-}
YML
  docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
  REG_PID=$!
  for _ in $(seq 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$REG/v2/")" != 000 ] && return 0; sleep 0.1
  done
  cat "$WORK/registry.log"; echo "not ok - the registry did not start"; exit 1
}
stop_registry() { kill "$REG_PID" 2>/dev/null; wait "$REG_PID" 2>/dev/null; }

# restart_registry_with_token_realm: the registry (same port and storage)
# behind a token realm run here (auth: token, RS256 JWTs from
# tests/fakes/registry/token_realm.py); sets REALM_PID, which the caller's
# EXIT trap kills.
restart_registry_with_token_realm() {
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/realm.key" -out "$WORK/realm.crt" -days 1 \
    -subj /CN=corral-test-realm >/dev/null 2>&1 || { echo "not ok - openssl req"; exit 1; }
  python3 "$SOURCE_DIR/tests/fakes/registry/token_realm.py" --key "$WORK/realm.key" --cert "$WORK/realm.crt" \
    --port-file "$WORK/realm.port" >/dev/null &
  REALM_PID=$!
  for _ in $(seq 100); do [ -s "$WORK/realm.port" ] && break; sleep 0.1; done
  stop_registry
  start_registry "auth:
  token:
    realm: http://127.0.0.1:$(cat "$WORK/realm.port")/token
    service: corral-test
    issuer: corral-test-issuer
    rootcertbundle: $WORK/realm.crt"
}

# A busybox-static root filesystem tarball.
make_rootfs_tar() {
  local d=$WORK/rootfs
  rm -rf "$d"; mkdir -p "$d/bin" "$d/etc/keep" "$d/etc/opaque" "$d/data"
  cp "$(command -v busybox)" "$d/bin/busybox"
  ln -s busybox "$d/bin/sh"
  ln -s /bin/busybox "$d/bin/abs-link"
  echo lower >"$d/data/replaced"
  echo gone >"$d/data/deleted"
  echo old >"$d/etc/opaque/old"
  echo kept >"$d/etc/keep/file"
  tar -C "$d" -cf "$WORK/rootfs.tar" .
}

# push_images: $REG/test/busybox:1 (one layer, docker import) and
# $REG/test/layers:1 (two layers: the upper one deletes, replaces and
# hides files of the lower, with an opaque directory).
push_images() {
  docker info >/dev/null 2>&1 || skip "no docker daemon"
  command -v busybox >/dev/null || skip "busybox is not installed"
  make_rootfs_tar
  local base=corral-imgtest-base:$$
  docker import "$WORK/rootfs.tar" "$base" >/dev/null || { echo "not ok - docker import"; exit 1; }
  docker tag "$base" "$REG/test/busybox:1"
  docker push -q "$REG/test/busybox:1" >/dev/null || { echo "not ok - docker push"; exit 1; }
  # The same image under a Docker Hub official-image name, for the mirror test.
  docker tag "$base" "$REG/library/corral-busybox:1"
  docker push -q "$REG/library/corral-busybox:1" >/dev/null || { echo "not ok - docker push library"; exit 1; }
  mkdir -p "$WORK/ctx"
  cat >"$WORK/ctx/Dockerfile" <<DF
FROM $base
RUN rm /data/deleted && echo upper >/data/replaced && rm -rf /etc/opaque && mkdir /etc/opaque && echo new >/etc/opaque/new
DF
  DOCKER_BUILDKIT=0 docker build -q -t "$REG/test/layers:1" "$WORK/ctx" >/dev/null 2>&1 ||
    docker build -q -t "$REG/test/layers:1" "$WORK/ctx" >/dev/null || { echo "not ok - docker build"; exit 1; }
  docker push -q "$REG/test/layers:1" >/dev/null || { echo "not ok - docker push layers"; exit 1; }
  docker rmi -f "$base" "$REG/test/busybox:1" "$REG/library/corral-busybox:1" "$REG/test/layers:1" >/dev/null 2>&1
  return 0
}
