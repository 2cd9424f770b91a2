#!/usr/bin/env bash
# Installs, upgrades or removes reelvault on a Debian or Ubuntu server, as root:
#
#   sudo packaging/install.sh --public-url https://studio.example.com     # build from this checkout
#   sudo packaging/install.sh reelvault_0.1.0-1_amd64.deb                  # or install a package
#   sudo packaging/install.sh --uninstall [--purge]
#
# It installs the binary and the hardened systemd unit, creates the `reelvault` account
# (systemd-sysusers) and its directories, writes /etc/reelvault/config.toml, creates the
# master key /etc/reelvault/master.key (the unit passes it as a credential), enables and
# starts the service, and prints the one-time setup link. Running it again upgrades in
# place: data, config and key are kept. `--uninstall` keeps data, config and key unless
# `--purge`; backups in /var/backups/reelvault are always kept.
#
# `--root DIR` installs into a throwaway root instead of / (no systemctl, no journal; the
# account goes into DIR/etc/passwd): what CI uses to check files, modes, owners and config.
set -euo pipefail

usage() {
    cat <<'USAGE'
usage: install.sh [PACKAGE.deb] [options]
  --public-url URL   how people reach the instance (asked when omitted on a terminal)
  --binary PATH      install this reelvault binary instead of building the checkout
  --root DIR         install under DIR instead of / (tests; skips systemctl)
  --no-start         install and configure, but do not start the service
  --uninstall        stop and remove the service; keep data, config and master key
  --purge            with --uninstall: also delete /var/lib/reelvault and /etc/reelvault
  -h, --help         this help
USAGE
}

say() { printf 'reelvault: %s\n' "$*"; }
die() { printf 'reelvault: error: %s\n' "$*" >&2; exit 1; }

DEB="" PUBLIC_URL="" BINARY="" ROOT="" START=1 UNINSTALL=0 PURGE=0
while [ $# -gt 0 ]; do
    case "$1" in
        --public-url) PUBLIC_URL="${2:?--public-url needs a URL}"; shift 2 ;;
        --public-url=*) PUBLIC_URL="${1#*=}"; shift ;;
        --binary) BINARY="${2:?--binary needs a path}"; shift 2 ;;
        --root) ROOT="${2:?--root needs a directory}"; shift 2 ;;
        --no-start) START=0; shift ;;
        --uninstall) UNINSTALL=1; shift ;;
        --purge) PURGE=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *.deb) DEB="$1"; shift ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
[ "$PURGE" = 1 ] && [ "$UNINSTALL" = 0 ] && die "--purge goes with --uninstall"
check_url() {
    case "$1" in
        http://?*|https://?*) ;;
        *) die "--public-url must start with http:// or https:// (got \"$1\")" ;;
    esac
}
[ -z "$PUBLIC_URL" ] || check_url "$PUBLIC_URL"

CHECKOUT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -n "$ROOT" ]; then
    mkdir -p "$ROOT"
    ROOT="$(cd "$ROOT" && pwd)"
    [ "$ROOT" != / ] || ROOT=""
fi
AS_ROOT=0
[ "$(id -u)" = 0 ] && AS_ROOT=1
[ "$AS_ROOT" = 1 ] || [ -n "$ROOT" ] || die "run as root (sudo $0 …)"
# a live systemd only when installing into this system
LIVE=0
[ -z "$ROOT" ] && [ -d /run/systemd/system ] && LIVE=1

BIN="$ROOT/usr/bin/reelvault"
UNIT="$ROOT/usr/lib/systemd/system/reelvault.service"
SYSUSERS="$ROOT/usr/lib/sysusers.d/reelvault.conf"
DOC="$ROOT/usr/share/doc/reelvault"
ETC="$ROOT/etc/reelvault"
CONF="$ETC/config.toml"
KEY="$ETC/master.key"
DATA="$ROOT/var/lib/reelvault"
BACKUPS="$ROOT/var/backups/reelvault"

from_package() { [ -z "$ROOT" ] && dpkg-query -W -f='${Status}' reelvault 2>/dev/null | grep -q "install ok installed"; }

# reelvault with this installation's paths (under --root, never the host's /etc or /var)
rv() { REELVAULT_MASTER_KEY_FILE="$KEY" "$BIN" --config "$CONF" --data-dir "$DATA" "$@"; }

uninstall() {
    if [ "$LIVE" = 1 ]; then
        systemctl disable --now reelvault.service 2>/dev/null || true
    fi
    if from_package; then
        if [ "$PURGE" = 1 ]; then apt-get purge -y reelvault; else apt-get remove -y reelvault; fi
    else
        rm -f "$BIN" "$UNIT" "$SYSUSERS"
        rm -rf "$DOC"
        [ "$LIVE" = 1 ] && systemctl daemon-reload
        if [ "$PURGE" = 1 ]; then
            rm -rf "$DATA" "$ETC"
        fi
    fi
    say "removed the service and the binary"
    if [ "$PURGE" = 1 ]; then
        say "deleted ${DATA:-/var/lib/reelvault} and ${ETC} (configuration and master key)"
    else
        say "kept the data ${DATA}, the configuration ${CONF} and the master key ${KEY}"
    fi
    [ -d "$BACKUPS" ] && say "kept the backups in ${BACKUPS}"
    say "the system account 'reelvault' stays (remove it with: userdel reelvault)"
    exit 0
}
[ "$UNINSTALL" = 1 ] && uninstall

# ---- 1. the binary, the unit and the account definition ----
if [ -n "$DEB" ]; then
    [ -f "$DEB" ] || die "no such package: $DEB"
    DEB="$(cd "$(dirname "$DEB")" && pwd)/$(basename "$DEB")"
    if [ -z "$ROOT" ]; then
        say "installing $DEB"
        apt-get install -y "$DEB"
    else
        dpkg-deb -x "$DEB" "$ROOT"
        # a package may put units under /lib (non-merged /usr): normalise for this root
        if [ -f "$ROOT/lib/systemd/system/reelvault.service" ] && [ ! -f "$UNIT" ]; then
            install -D -m 0644 "$ROOT/lib/systemd/system/reelvault.service" "$UNIT"
        fi
    fi
else
    if [ -z "$BINARY" ]; then
        command -v cargo >/dev/null || die "cargo is not installed: install Rust (https://rustup.rs) or pass a .deb"
        say "building reelvault from $CHECKOUT (cargo build --release; a few minutes the first time)"
        (cd "$CHECKOUT" && cargo build --release --locked)
        BINARY="$CHECKOUT/target/release/reelvault"
    fi
    [ -x "$BINARY" ] || die "not an executable: $BINARY"
    # replace atomically: a running service keeps its old inode until restarted
    install -D -m 0755 "$BINARY" "$BIN.new"
    mv -f "$BIN.new" "$BIN"
    install -D -m 0644 "$CHECKOUT/systemd/reelvault.service" "$UNIT"
    install -D -m 0644 "$CHECKOUT/packaging/sysusers.conf" "$SYSUSERS"
    install -D -m 0644 "$CHECKOUT/README.md" "$DOC/README.md"
fi
say "installed $("$BIN" --version) at ${BIN}"

# ---- 2. the account and the directories ----
mkdir -p "$ROOT/etc"
if command -v systemd-sysusers >/dev/null; then
    systemd-sysusers ${ROOT:+--root "$ROOT"} "$SYSUSERS"
elif [ -z "$ROOT" ] && ! id reelvault >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /var/lib/reelvault --no-create-home --shell /usr/sbin/nologin reelvault
fi
IDS="$(awk -F: '$1 == "reelvault" { print $3 ":" $4 }' "$ROOT/etc/passwd")"
[ -n "$IDS" ] || die "the reelvault account was not created"
RV_UID="${IDS%%:*}" RV_GID="${IDS##*:}"
# owners only when root; an unprivileged --root run checks everything else
own() { [ "$AS_ROOT" = 1 ] && chown "$@"; return 0; }

install -d -m 0750 "$ETC" && own "0:$RV_GID" "$ETC"
install -d -m 0700 "$DATA" && own "$RV_UID:$RV_GID" "$DATA"
install -d -m 0700 "$BACKUPS" && own "$RV_UID:$RV_GID" "$BACKUPS"

# ---- 3. the configuration ----
if [ ! -e "$CONF" ]; then
    install -m 0640 "$CHECKOUT/packaging/config.toml" "$CONF"
    say "wrote ${CONF}"
else
    say "kept ${CONF}"
fi
has_key() { grep -Eq "^[[:space:]]*$1[[:space:]]*=" "$CONF"; }
# sets `key = value`: replaces the active line, else the commented example, else appends
set_key() {
    local key="$1" value="$2" tmp
    tmp="$(mktemp)"
    awk -v key="$key" -v line="$key = $value" '
        !done && ($0 ~ "^[[:space:]]*" key "[[:space:]]*=" || $0 ~ "^#[[:space:]]*" key "[[:space:]]*=") { print line; done = 1; next }
        { print }
        END { if (!done) print line }' "$CONF" >"$tmp"
    cat "$tmp" >"$CONF"
    rm -f "$tmp"
}
if [ -z "$PUBLIC_URL" ] && ! has_key public_url && [ -t 0 ]; then
    read -r -p "Public URL people will use (e.g. https://studio.example.com), empty for none: " PUBLIC_URL
fi
if [ -n "$PUBLIC_URL" ]; then
    check_url "$PUBLIC_URL"
    PUBLIC_URL="${PUBLIC_URL%/}"
    set_key public_url "\"$PUBLIC_URL\""
    say "public_url = $PUBLIC_URL"
    # https is terminated by a reverse proxy on this machine: believe its X-Forwarded-For
    if [ "${PUBLIC_URL#https://}" != "$PUBLIC_URL" ] && ! has_key trusted_proxies; then
        set_key trusted_proxies '["127.0.0.1", "::1"]'
        say "trusted_proxies = [\"127.0.0.1\", \"::1\"] (a reverse proxy on this machine)"
    fi
elif ! has_key public_url; then
    say "no public_url set: links will use http://127.0.0.1:8080; set it in $CONF later"
fi
chmod 0640 "$CONF"
own "0:$RV_GID" "$CONF"

# ---- 4. the master key (and the store, on a first install) ----
SETUP_LINK=""
if [ ! -e "$KEY" ]; then
    [ -e "$DATA/reelvault.redb" ] && die "$DATA holds a store but $KEY is missing: put the instance's master key back there first"
    INIT_OUT="$(rv init)"
    SETUP_LINK="$(printf '%s\n' "$INIT_OUT" | grep -o 'http[^ ]*/setup/[^ ]*' | tail -n 1 || true)"
    say "created the master key ${KEY}: keep a copy apart from your backups"
else
    # the configuration alone (a data directory that does not exist: the store stays untouched,
    # so a newer binary migrates it when the service starts, after copying it)
    "$BIN" --config "$CONF" --data-dir "$ROOT/nonexistent/reelvault-config-check" check >/dev/null
    say "kept the master key ${KEY}"
fi
chmod 0600 "$KEY"
own 0:0 "$KEY"
[ "$AS_ROOT" = 1 ] && chown -R "$RV_UID:$RV_GID" "$DATA"

# ---- 5. the service ----
if [ "$LIVE" = 1 ] && [ "$START" = 1 ]; then
    systemctl daemon-reload
    systemctl enable reelvault.service >/dev/null 2>&1
    SINCE="$(date '+%Y-%m-%d %H:%M:%S')"
    if systemctl is-active --quiet reelvault.service; then
        say "restarting the service (the new binary migrates the store after copying it)"
        systemctl restart reelvault.service
    else
        systemctl start reelvault.service
    fi
    if ! systemctl is-active --quiet reelvault.service; then
        journalctl -u reelvault.service -n 40 --no-pager >&2 || true
        die "the service did not start; see above"
    fi
    say "the service is running: systemctl status reelvault; logs: journalctl -u reelvault"
    SETUP_LINK=""
    for _ in $(seq 1 50); do
        SETUP_LINK="$(journalctl -u reelvault.service --since "$SINCE" -o cat --no-pager 2>/dev/null | grep -o 'http[^ ]*/setup/[^ ]*' | tail -n 1 || true)"
        [ -n "$SETUP_LINK" ] && break
        sleep 0.1
    done
elif [ "$START" = 1 ]; then
    say "systemd is not running here: start the service with: systemctl enable --now reelvault"
fi

if [ -n "$SETUP_LINK" ]; then
    say "open this one-time link to create the first admin:"
    printf '  %s\n' "$SETUP_LINK"
else
    say "while no admin exists, the service prints a one-time setup link at each start:"
    say "  journalctl -u reelvault -o cat | grep /setup/ | tail -n 1"
fi
say "back up with: reelvault backup /var/backups/reelvault/\$(date +%F)"
