#!/usr/bin/env bash
# Backup and restore benchmark: opskit against its peers, in one run, on the
# same data set, to the same loopback sshd, with a warm page cache.
#
#   bench/backup.sh            # 512 MiB data set (SIZE=MiB to change)
#   ONLY="opskit pipeline"     # run some tools only
#   PROFILE=1                  # CPU profiles of opsd in $BENCH_DIR/opskit-*.prof
#   SFTP_CONCURRENCY=N         # opsd's SFTP requests in flight per transfer
#
# Peers: `tar | zstd -1 -T0 | gpg -e --compress-algo none | ssh`, and
# Debian's restic, borg and duplicity with their defaults (repository init
# is not timed). Prints wall time, MB/s and peak RSS for each, and opskit's
# speed-up over each (peer time / opskit time).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${SIZE:-512}
W=${BENCH_DIR:-/tmp/opskit-bench}
ONLY=${ONLY:-opskit pipeline restic borg duplicity}

need=()
for p in restic borgbackup duplicity python3-paramiko openssh-server openssh-client gnupg zstd time rsync bc; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

mkdir -p "$W"
rm -rf "$W/remote" "$W/restore" "$W/opsd" "$W/gnupg" "$W/ssh"
mkdir -p "$W/remote/opskit" "$W/restore"
go build -o "$W/opsd-bin" ./examples/opsd
if [ ! -d "$W/data-$SIZE" ]; then
  go run ./bench/gendata -size "$SIZE" -out "$W/data-$SIZE"
fi
DATA="$W/data-$SIZE"
BYTES=$(du -sb "$DATA" | cut -f1)

# A loopback sshd with generated keys.
mkdir -p "$W/ssh" && chmod 700 "$W/ssh"
ssh-keygen -q -t ed25519 -N '' -f "$W/ssh/host_ed25519"
ssh-keygen -q -t ed25519 -N '' -f "$W/ssh/id"
cp "$W/ssh/id.pub" "$W/ssh/authorized_keys"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$W/ssh/sshd_config" <<CFG
Port $PORT
ListenAddress 127.0.0.1
HostKey $W/ssh/host_ed25519
AuthorizedKeysFile $W/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
StrictModes no
PidFile $W/ssh/sshd.pid
Subsystem sftp internal-sftp
CFG
mkdir -p /run/sshd
/usr/sbin/sshd -f "$W/ssh/sshd_config" -E "$W/ssh/sshd.log"
trap 'kill $(cat "$W/ssh/sshd.pid") 2>/dev/null || true' EXIT
for _ in $(seq 50); do (echo > "/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$W/ssh/host_ed25519.pub")" > "$W/ssh/known_hosts"
USERNAME=$(id -un)
SSH="ssh -p $PORT -i $W/ssh/id -o UserKnownHostsFile=$W/ssh/known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes"

# opsd with an sftp transport; its generated instance key is every tool's key.
"$W/opsd-bin" init --dir "$W/opsd" --source "$DATA" >/dev/null
python3 - "$W/opsd/opsd.yaml" "$PORT" "$W" "$USERNAME" "${SFTP_CONCURRENCY:-}" <<'PY'
import sys, re
p, port, w, user, conc = sys.argv[1:]
s = open(p).read()
lines = ["type: sftp", "path: %s/remote/opskit" % w, "address: 127.0.0.1:%s" % port, "user: %s" % user,
         "identity: %s/ssh/id" % w, "known_hosts: %s/ssh/known_hosts" % w]
if conc:
    lines.append("concurrency: %s" % conc)
s, n = re.subn(r"(?m)^(\s*)type: local\n\s*path: backups\n", lambda m: "".join(m.group(1) + l + "\n" for l in lines), s)
assert n == 1, "could not switch opsd.yaml to the sftp transport"
open(p, "w").write(s)
PY
export GNUPGHOME="$W/gnupg"; mkdir -p "$GNUPGHOME"; chmod 700 "$GNUPGHOME"
gpg --batch -q --import "$W/opsd/keys/demo.pub.asc" "$W/opsd/keys/demo.sec.asc" 2>/dev/null
FPR=$(gpg --batch --with-colons --list-keys | awk -F: '/^fpr/ {print $10; exit}')
export RESTIC_PASSWORD=bench BORG_PASSPHRASE=bench BORG_RSH="$SSH" PASSPHRASE=""
RESTIC_REPO="sftp:$USERNAME@127.0.0.1:$W/remote/restic"
RESTIC_OPT=(-o "sftp.command=$SSH $USERNAME@127.0.0.1 -s sftp")
BORG_REPO="ssh://$USERNAME@127.0.0.1:$PORT$W/remote/borg"
DUP_URL="pexpect+sftp://$USERNAME@127.0.0.1:$PORT/$W/remote/duplicity"
DUP_OPT=(--ssh-options="-oIdentityFile=$W/ssh/id -oUserKnownHostsFile=$W/ssh/known_hosts -oStrictHostKeyChecking=yes" --encrypt-key "$FPR" --gpg-options="--trust-model always" --archive-dir "$W/dup-cache" --no-print-statistics)

restic "${RESTIC_OPT[@]}" -r "$RESTIC_REPO" init -q >/dev/null
borg init -e repokey "$BORG_REPO" >/dev/null 2>&1

warm() { tar -cf - -C "$DATA" . > /dev/null; }
declare -A T R
measure() { # name phase command...
  local name=$1 phase=$2; shift 2
  warm
  /usr/bin/time -f "%e %M" -o "$W/time" bash -c "$*" >"$W/out.$name.$phase" 2>&1 || { echo "$name $phase failed:"; tail -20 "$W/out.$name.$phase"; exit 1; }
  read -r secs kb < "$W/time"
  T[$name.$phase]=$secs; R[$name.$phase]=$kb
  printf '%-10s %-8s %8.2f s %8.1f MB/s %8.1f MiB peak RSS\n' "$name" "$phase" "$secs" "$(echo "$BYTES / $secs / 1000000" | bc -l)" "$(echo "$kb / 1024" | bc -l)"
}

echo "data set: $DATA, $BYTES bytes, $(find "$DATA" -type f | wc -l) files; $(nproc) cores"
for tool in $ONLY; do
  case $tool in
  opskit)
    measure opskit backup "OPSD_CPUPROFILE=${PROFILE:+$W/opskit-backup.prof} $W/opsd-bin backup run demo -config $W/opsd/opsd.yaml --quiet"
    ID=$("$W/opsd-bin" backup list demo -config "$W/opsd/opsd.yaml" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["name"])')
    measure opskit restore "OPSD_CPUPROFILE=${PROFILE:+$W/opskit-restore.prof} $W/opsd-bin backup restore demo $ID --to $W/restore/opskit -config $W/opsd/opsd.yaml" ;;
  pipeline)
    mkdir -p "$W/remote/pipeline" "$W/restore/pipeline"
    measure pipeline backup "tar -C $DATA -cf - . | zstd -q -1 -T0 | gpg --batch -q -e -r $FPR --trust-model always --compress-algo none | $SSH $USERNAME@127.0.0.1 'cat > $W/remote/pipeline/b.tar.zst.gpg'"
    measure pipeline restore "$SSH $USERNAME@127.0.0.1 'cat $W/remote/pipeline/b.tar.zst.gpg' | gpg --batch -q -d | zstd -q -d | tar -x -C $W/restore/pipeline" ;;
  restic)
    measure restic backup "restic -q ${RESTIC_OPT[*]@Q} -r $RESTIC_REPO backup $DATA"
    measure restic restore "restic -q ${RESTIC_OPT[*]@Q} -r $RESTIC_REPO restore latest --target $W/restore/restic" ;;
  borg)
    measure borg backup "cd $(dirname "$DATA") && borg create $BORG_REPO::b1 $(basename "$DATA")"
    mkdir -p "$W/restore/borg"
    measure borg restore "cd $W/restore/borg && borg extract $BORG_REPO::b1" ;;
  duplicity)
    measure duplicity backup "duplicity full ${DUP_OPT[*]@Q} $DATA $DUP_URL"
    measure duplicity restore "duplicity restore ${DUP_OPT[*]@Q} $DUP_URL $W/restore/duplicity" ;;
  esac
done

# The restored trees must equal the data set.
for tool in $ONLY; do
  d="$W/restore/$tool"
  case $tool in restic) d="$d$DATA" ;; borg) d="$d/$(basename "$DATA")" ;; esac
  if diff -r -q "$DATA" "$d" >/dev/null; then echo "$tool: restored tree identical"; else echo "$tool: RESTORED TREE DIFFERS"; fi
done

echo
echo "opskit speed-up (peer seconds / opskit seconds); peak RSS in MiB:"
for phase in backup restore; do
  for tool in $ONLY; do
    [ "$tool" = opskit ] && continue
    [ -n "${T[opskit.$phase]:-}" ] && [ -n "${T[$tool.$phase]:-}" ] || continue
    printf '%-8s vs %-10s %6.2fx   (opskit %.0f MiB, %s %.0f MiB)\n' "$phase" "$tool" \
      "$(echo "${T[$tool.$phase]} / ${T[opskit.$phase]}" | bc -l)" "$(echo "${R[opskit.$phase]} / 1024" | bc -l)" "$tool" "$(echo "${R[$tool.$phase]} / 1024" | bc -l)"
  done
done
