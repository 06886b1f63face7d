# Sourced by scripts/stack.sh and scripts/postgres.sh.
#
# make_traversable USER DIR: make DIR and its ancestors traversable by USER
# (a server that runs as its own user when we are root), changing only the
# directories that block it, e.g. a mktemp -d of mode 700.
make_traversable() {
  local user="$1" dir="" part
  local -a parts
  IFS=/ read -r -a parts <<<"${2#/}"
  for part in "${parts[@]}"; do
    dir="$dir/$part"
    if ! setpriv --reuid="$user" --regid="$user" --init-groups -- test -x "$dir" 2>/dev/null; then
      printf '%s: chmod go+x %s (so %s can reach it)\n' "$(basename "$0" .sh)" "$dir" "$user" >&2
      chmod go+x "$dir"
    fi
  done
}
