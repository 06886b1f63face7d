# Sourced by scripts/stack.sh: processes recorded as "PID:STARTTIME" (so a PID
# reused after a reboot is never signalled), and free loopback ports. Uses the
# caller's log and die.

# Start time of a process (field 22 of /proc/PID/stat), empty if gone.
proc_start() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
  local -a fields
  read -r -a fields <<<"${stat##*) }"   # drop "pid (comm) ": comm may hold spaces
  printf '%s' "${fields[19]}"
}

# "PID:STARTTIME" for a live process.
proc_id() { printf '%s:%s' "$1" "$(proc_start "$1")"; }

# True when the recorded "PID:STARTTIME" is still the same live process
# (a reused PID after a reboot does not count). Zombies count as gone.
alive() {
  local pid="${1%%:*}" start="${1#*:}"
  [ -n "$pid" ] && [ -n "$start" ] || return 1
  [ "$(proc_start "$pid")" = "$start" ] || return 1
  ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}

# Wait up to $2 seconds for the recorded process $1 to exit.
wait_gone() {
  local id="$1" deadline=$((SECONDS + $2))
  while alive "$id"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# Signal a recorded process: TERM, then KILL after $2 seconds.
stop_pid() {
  local id="$1" grace="$2" name="$3"
  alive "$id" || return 0
  kill -TERM "${id%%:*}" 2>/dev/null || true
  if ! wait_gone "$id" "$grace"; then
    log "$name did not stop in ${grace}s: SIGKILL"
    kill -KILL "${id%%:*}" 2>/dev/null || true
    wait_gone "$id" 5 || log "$name (pid ${id%%:*}) still alive"
  fi
}

# True when something accepts connections on 127.0.0.1:$1.
port_busy() {
  timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# Print N distinct free loopback ports. They are drawn below the kernel's
# ephemeral range, so outgoing connections cannot take them meanwhile.
pick_ports() {
  local n="$1" lo=20000 hi=60000 eph_lo _
  read -r eph_lo _ </proc/sys/net/ipv4/ip_local_port_range || true
  if [ -n "${eph_lo:-}" ] && [ "$eph_lo" -gt $((lo + 1000)) ]; then
    hi=$((eph_lo - 1))
  fi
  local -a ports=()
  local p tries=0
  while [ "${#ports[@]}" -lt "$n" ]; do
    tries=$((tries + 1))
    [ "$tries" -lt 1000 ] || die "no free ports found in $lo-$hi"
    p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
    [[ " ${ports[*]} " == *" $p "* ]] && continue
    port_busy "$p" && continue
    ports+=("$p")
  done
  printf '%s\n' "${ports[@]}"
}

