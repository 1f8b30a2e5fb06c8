#!/bin/bash
# The scenario of scripts/e2e-systemd.sh, run INSIDE the throwaway VM by
# polybot-e2e.service once the guest has booted. Never run it on a real host:
# it starts, freezes, breaks and stops polybot and rewrites
# /etc/polybot/polybot.yaml.
#
# Each step reports one line on the results port (/dev/ttyS1, a file on the
# host):
#   RESULT|<n>|<name>|PASS or FAIL|<seconds>|<detail>
# with DETAIL|<n>|<text> lines before it for context, and END|<failed steps>
# at the very end. Then the whole journal of the boot goes to /dev/ttyS2.
# The unit powers the VM off when this script exits.
set -u

RESULTS=${E2E_RESULTS:-/dev/ttyS1}
JOURNAL_OUT=${E2E_JOURNAL:-/dev/ttyS2}
E2E_DIR=${E2E_DIR:-/usr/local/lib/polybot-e2e}
CONF=/etc/polybot/polybot.yaml
GOOD=$E2E_DIR/polybot.good.yaml # the config as installed (leaders 1 and 2)
L1=0x1000000000000000000000000000000000000001
L2=0x1000000000000000000000000000000000000002
L3=0x1000000000000000000000000000000000000003
# The unit's RestartSec=30s, shortened by a drop-in to keep the run short.
RESTART_SEC=5
WATCHDOG_SEC=30
TIMEOUT_STOP_SEC=20

exec 3>"$RESULTS" || exec 3>&2
failed_steps=""

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
log() { echo "e2e: $*" >&2; }
detail() {
	local line
	while IFS= read -r line; do
		printf 'DETAIL|%s|%s\n' "$step" "$line" >&3
		log "[$step] $line"
	done <<<"$*"
}

# step N NAME: starts a step; check MSG adds a failed check; finish ends it.
step=0
step_name=""
step_start=0
step_fail=""
step_note=""
begin() {
	step=$1
	step_name=$2
	step_start=$(now)
	step_fail=""
	step_note=""
	log "=== step $step: $step_name"
}
fail() {
	step_fail="${step_fail:+$step_fail; }$*"
	detail "FAIL: $*"
}
note() {
	step_note="${step_note:+$step_note; }$*"
	detail "$*"
}
finish() {
	local status=PASS msg=$step_note
	if [ -n "$step_fail" ]; then
		status=FAIL
		msg=$step_fail
		failed_steps="$failed_steps $step"
	fi
	msg=${msg//|//}
	printf 'RESULT|%s|%s|%s|%s|%s\n' "$step" "$step_name" "$status" "$(elapsed "$step_start")" "$msg" >&3
	log "=== step $step: $status ($msg)"
}

prop() { systemctl show -P "$2" "$1"; }

# wait_for SECONDS CMD...: runs CMD every 0.2 s until it succeeds; 1 on timeout.
wait_for() {
	local deadline
	deadline=$(awk -v a="$(now)" -v s="$1" 'BEGIN { printf "%.3f", a + s }')
	shift
	while ! "$@"; do
		if awk -v d="$deadline" -v n="$(now)" 'BEGIN { exit !(n > d) }'; then
			return 1
		fi
		sleep 0.2
	done
}

# Journal helpers: messages only (-o cat), this boot.
cursor() { journalctl -n 0 --show-cursor -q --no-pager | sed -n 's/^-- cursor: //p'; }
# -a: systemd 252 colours some of its messages (ESC sequences), and journalctl
# shows such entries as "[blob data]" without it; the colours are stripped.
jctl() { journalctl -a -q --no-pager "$@" | sed 's/\x1b\[[0-9;]*m//g'; }
# The -u match includes systemd's own messages about the unit.
bot_log() { jctl -b -u polybot.service -o cat "$@"; }
bot_log_after() { # CURSOR [args]
	local c=$1
	shift
	jctl -b -u polybot.service -o cat --after-cursor="$c" "$@"
}
sim_log() { jctl -b -u polysim.service -o cat; }
# pid1_count ERE: how many of systemd's messages in this boot match ERE,
# anchored at the start (so never the scenario's own echoes of them). Counted
# over the whole journal rather than after a cursor: a delta of two counts
# says what happened in between.
pid1_count() { jctl -b -o cat _PID=1 | grep -cE "^($1)" || true; }
# Predicates for wait_for.
sim_has() { sim_log | grep -qE "$1"; }
bot_has() { bot_log | grep -qE "$1"; }
bot_has_after() { bot_log_after "$1" | grep -qE "$2"; } # CURSOR ERE
# copies_after CURSOR LEADER-ERE N: at least N copied lines of LEADER after CURSOR.
copies_after() { [ "$(bot_log_after "$1" | copied_lines | grep -cE "\"leader\": \"($2)\"")" -ge "${3:-1}" ]; }

# json_field NAME: prints the value of "NAME": in each input line (string or number).
json_field() {
	sed -nE "s/.*\"$1\": \"?([^\",}]*)\"?.*/\1/p"
}
# copied lines (the executor's INFO "copied" message) on stdin.
copied_lines() { grep -E $'(^|\t)copied\t\\{' || true; }
# copies outcome lines: copied, copy skipped, copy failed.
handled_lines() { grep -E $'(^|\t)(copied|copy skipped|copy failed)\t\\{' || true; }

count_copied_after() { # CURSOR LEADER
	bot_log_after "$1" | copied_lines | grep -c "\"leader\": \"$2\"" || true
}

cleanup_and_dump() {
	log "dumping the journal"
	jctl -b -o short-monotonic >"$JOURNAL_OUT" 2>&1 || true
	printf 'END|%s\n' "${failed_steps# }" >&3
	sync
}
trap cleanup_and_dump EXIT
trap 'exit 143' TERM INT

# ---------------------------------------------------------------------------
# Preparation: the RestartSec drop-in, and a check that the config installed
# by the host is the expected demo config.
mkdir -p /etc/systemd/system/polybot.service.d
cat >/etc/systemd/system/polybot.service.d/e2e-restart.conf <<EOF
# Installed by the e2e scenario: RestartSec=30s shortened to keep the run short.
[Service]
RestartSec=${RESTART_SEC}s
EOF
systemctl daemon-reload
cp "$CONF" "$GOOD"
log "systemd $(systemctl --version | head -n 1)"
log "polybot $(polybot version 2>&1 | head -n 1)"

# The config variants, derived from the installed one.
RELOADED=$E2E_DIR/polybot.reload.yaml # + leader 3, copy_ratio 0.25
BROKEN_YAML=$E2E_DIR/polybot.broken-yaml.yaml
INVALID=$E2E_DIR/polybot.invalid.yaml # parses, fails validation
awk -v l3="$L3" '
	{ print }
	/^leaders:/ { print "  - address: " l3; print "    name: demo-leader-3" }
' "$GOOD" | sed -E 's/^([[:space:]]*copy_ratio:).*/\1 0.25/' >"$RELOADED"
{
	cat "$RELOADED"
	printf 'copy:\n  copy_ratio: [unterminated\n'
} >"$BROKEN_YAML"
sed -E 's/^([[:space:]]*copy_ratio:).*/\1 -1/' "$GOOD" >"$INVALID"

# ---------------------------------------------------------------------------
begin 1 "start: active only after READY=1, STATUS= shown"
# (a) READY gating, made observable: with polysim not running yet, polybot
# cannot subscribe, so it must sit in activating/start, with its own STATUS=,
# for as long as that lasts. Then it is stopped again.
st_of() { systemctl show -p ActiveState -p SubState polybot.service | sed 's/^[A-Za-z]*=//' | paste -sd/; }
systemctl start --no-block polybot.service
t0=$(now)
states=""
texts=""
while awk -v a="$t0" -v n="$(now)" 'BEGIN { exit !(n - a < 6) }'; do
	st=$(st_of)
	case " $states " in *" $st "*) ;; *) states="$states $st" ;; esac
	tx=$(prop polybot StatusText)
	case "|$texts|" in *"|$tx|"*) ;; *) texts="$texts|$tx" ;; esac
	sleep 0.2
done
note "(a) no chain yet, 6 s after start: states seen:$states; StatusText seen: ${texts#|}"
[ "$states" = " activating/start" ] || fail "(a) without a chain the unit was not only activating/start:$states"
grep -q 'connecting to the chain' <<<"$texts" || fail "(a) no 'connecting to the chain' StatusText from the daemon"
systemctl stop polybot.service || fail "(a) stop while activating failed"
[ "$(prop polybot ActiveState)" = inactive ] || fail "(a) not inactive after the stop"
[ "$(pid1_count 'Started polybot.service')" = 0 ] || fail "(a) systemd said Started without READY=1"

# (b) As the brief goes: polysim, then polybot; systemctl start returns once
# READY=1 has come.
systemctl start polysim.service || fail "systemctl start polysim failed"
wait_for 20 sim_has 'chain started' ||
	fail "polysim did not log 'chain started'"
c0=$(cursor)
t0=$(now)
systemctl start polybot.service || fail "systemctl start polybot failed"
ready_after=$(elapsed "$t0")
st=$(st_of)
status_at_ready=$(prop polybot StatusText)
note "(b) systemctl start polybot returned after $ready_after s: $st"
[ "$st" = active/running ] || fail "(b) $st after systemctl start returned"
# READY=1 is sent after the first subscription: the 'subscribed' line must exist.
wait_for 5 bot_has $'\tsubscribed\t' ||
	fail "no 'subscribed' line in the journal"
nready=$(pid1_count 'Started polybot.service')
[ "$nready" = 1 ] || fail "expected one 'Started polybot' message, got $nready"
[ -n "${status_at_ready:-}" ] || fail "StatusText empty when active: the daemon sent no STATUS="
note "StatusText at READY: \"${status_at_ready:-}\""
st_text=$(prop polybot StatusText)
status_out=$(systemctl status --no-pager -n 0 polybot.service 2>&1)
status_line=$(grep -E '^ +Status: "' <<<"$status_out" | head -n 1)
detail "$status_out"
if [ -z "$status_line" ]; then
	fail "systemctl status shows no Status: line"
elif ! grep -qF "Status: \"$st_text" <<<"$status_line" && ! grep -qE 'Status: "[^"]+"' <<<"$status_line"; then
	fail "Status: line does not carry the daemon's text: $status_line"
fi
grep -q 'Active: active (running)' <<<"$status_out" || fail "systemctl status does not say active (running)"
# The text must come from the daemon: systemd never sets StatusText itself.
grep -qE 'leaders|subscribed|connecting|head|copies' <<<"$st_text" ||
	fail "StatusText \"$st_text\" does not look like polybot's status line"
MAINPID=$(prop polybot MainPID)
note "MainPID $MAINPID"
# Memory limits (docs/performance.md#memory-limits): the installed unit's
# MemoryHigh= and MemoryMax= are in force, the service runs below MemoryHigh=,
# and STATUS= shows the footprint (RSS and the store file).
unit_high=$(sed -n 's/^MemoryHigh=//p' /etc/systemd/system/polybot.service | tail -n 1)
unit_max=$(sed -n 's/^MemoryMax=//p' /etc/systemd/system/polybot.service | tail -n 1)
mem_high=$(systemctl show -P MemoryHigh polybot.service)
mem_max=$(systemctl show -P MemoryMax polybot.service)
mem_cur=$(systemctl show -P MemoryCurrent polybot.service)
note "MemoryHigh=$mem_high MemoryMax=$mem_max MemoryCurrent=$mem_cur"
if [ -z "$unit_high" ] || [ -z "$unit_max" ]; then
	fail "the installed unit sets no MemoryHigh= or MemoryMax="
elif [ "$mem_high" != "$(numfmt --from=iec "$unit_high")" ] || [ "$mem_max" != "$(numfmt --from=iec "$unit_max")" ]; then
	fail "systemctl show: MemoryHigh=$mem_high MemoryMax=$mem_max, the unit says $unit_high and $unit_max"
elif ! [ "$mem_cur" -lt "$mem_high" ] 2>/dev/null; then
	fail "MemoryCurrent=$mem_cur is not below MemoryHigh=$mem_high"
fi
# STATUS= is sent at READY=1 and every maintenance interval after.
status_has_footprint() {
	prop polybot StatusText | grep -qE 'RSS [0-9]+ MiB \(anon [0-9]+ MiB, file [0-9]+ MiB\), store [0-9]+ MiB'
}
wait_for 35 status_has_footprint ||
	fail "StatusText \"$(prop polybot StatusText)\" does not show the footprint (RSS ..., store ...)"
finish

# ---------------------------------------------------------------------------
begin 2 "copies in journalctl -u polybot; -p filters by priority"
wait_for 40 copies_after "$c0" "$L1|$L2|$L3" 5 ||
	fail "fewer than 5 copied lines within 40 s"
lines=$(bot_log | copied_lines)
n=$(grep -c . <<<"$lines" || true)
note "$n copied lines"
detail "$(head -n 2 <<<"$lines")"
bad=""
for re in '"leader": "0x[0-9a-fA-F]{40}"' '"market": "[0-9]+"' '"tx": "0x[0-9a-f]{64}"' '"log_index": [0-9]+' \
	'"side": "(BUY|SELL)"' '"shares": "[0-9.]+"' '"price": "[0-9.]+"' '"usdc": "[0-9.]+"'; do
	if grep -qvE "$re" <<<"$lines"; then bad="$bad ${re%%:*}"; fi
done
[ -z "$bad" ] || fail "copied lines without the fields$bad"
others=$(json_field leader <<<"$lines" | sort -u | grep -viE "^($L1|$L2)$" || true)
[ -z "$others" ] || fail "copies of leaders not in the config: $others"
for l in $L1 $L2; do
	grep -q "\"leader\": \"$l\"" <<<"$lines" || note "no copy of $l yet"
done
# Each copied fill is one polysim logged.
sim_tx=$(sim_log | grep 'leader fill' | json_field tx | sort -u)
unknown=$(json_field tx <<<"$lines" | sort -u | comm -23 - <(printf '%s\n' "$sim_tx"))
[ -z "$unknown" ] || fail "copied tx polysim never logged: $(head -n 1 <<<"$unknown")"
nwarn=$(bot_log -p warning | copied_lines | grep -c . || true)
ninfo=$(bot_log -p info | copied_lines | grep -c . || true)
ndebug=$(bot_log -p debug | copied_lines | grep -c . || true)
note "copied lines at -p warning: $nwarn, -p info: $ninfo, -p debug: $ndebug"
[ "$nwarn" = 0 ] || fail "-p warning shows $nwarn info-level copied lines"
[ "$ninfo" -ge "$n" ] || fail "-p info shows $ninfo copied lines, fewer than $n"
# In -o json the tab of the console format is escaped: \t.
prios=$(journalctl -b -u polybot.service -o json --no-pager -q | grep -F '\tcopied\t{' |
	grep -o '"PRIORITY":"[0-9]"' | sed -E 's/.*"([0-9])"/\1/' | sort -u | tr '\n' ' ')
note "PRIORITY of the copied entries: ${prios:-none}"
[ "$prios" = "6 " ] || fail "copied entries carry PRIORITY ${prios:-none}, want 6 (info) only"
finish

# ---------------------------------------------------------------------------
begin 3 "reload: leader 3 + copy_ratio 0.25 applied, same MainPID"
polybot check-config --config "$RELOADED" >/dev/null 2>&1 || fail "the edited config does not pass check-config"
cp "$RELOADED" "$CONF"
c=$(cursor)
pid_before=$(prop polybot MainPID)
t0=$(now)
if ! systemctl reload polybot.service; then
	fail "systemctl reload failed"
fi
note "systemctl reload returned after $(elapsed "$t0") s"
wait_for 10 bot_has_after "$c" 'config reloaded' ||
	fail "no 'config reloaded' line"
reloaded=$(bot_log_after "$c" | grep 'config reloaded' | head -n 1)
detail "$reloaded"
grep -q 'leaders' <<<"$reloaded" || fail "'config reloaded' does not list leaders as changed"
grep -q 'copy' <<<"$reloaded" || fail "'config reloaded' does not list copy_ratio as changed"
bot_log_after "$c" | grep -qi 'reload failed' && fail "the reload was refused"
[ "$(prop polybot ActiveState)/$(prop polybot SubState)" = active/running ] ||
	fail "not active/running after reload: $(prop polybot ActiveState)/$(prop polybot SubState)"
pid_after=$(prop polybot MainPID)
[ "$pid_after" = "$pid_before" ] || fail "MainPID changed: $pid_before -> $pid_after"
note "MainPID $pid_before -> $pid_after; StatusText \"$(prop polybot StatusText)\""
wait_for 60 copies_after "$c" "$L3" 1 ||
	fail "no copy of leader 3 within 60 s of the reload"
l3=$(bot_log_after "$c" | copied_lines | grep "\"leader\": \"$L3\"" | head -n 1)
detail "$l3"
# copy_ratio 0.25: every BUY copied after the reload that no limit reduced
# ("action": "copy", "limit": "") is a quarter of the leader's shares. (A
# build that does not log limit/action: some BUY copies may be capped by
# max_trade_usdc; at least one must be at 0.25.)
unlimited_buy_after() { # CURSOR: a BUY copied after the reload and reduced by no limit
	bot_log_after "$1" | sed -n '/config reloaded/,$p' | copied_lines | grep '"side": "BUY"' | grep -qv '"limit": "[^"]'
}
wait_for 30 unlimited_buy_after "$c" || note "no BUY copy free of limits within 30 s of the reload"
ratio_ok=0
ratio_checked=0
ratio_bad=""
sim_fills=$(sim_log | grep 'leader fill')
while IFS= read -r line; do
	[ -n "$line" ] || continue
	tx=$(json_field tx <<<"$line")
	side=$(json_field side <<<"$line")
	shares=$(json_field shares <<<"$line")
	# A SELL is sized from the position (the leader's sold fraction of theirs).
	[ "$side" = BUY ] || continue
	if grep -q '"limit": ' <<<"$line"; then
		grep -q '"limit": ""' <<<"$line" || continue
		grep -qE '"action": "copy"' <<<"$line" || continue
		strict=1
	else
		strict=0
	fi
	lshares=$(grep -F "\"tx\": \"$tx\"" <<<"$sim_fills" | json_field shares | head -n 1)
	[ -n "$lshares" ] || continue
	ratio_checked=$((ratio_checked + 1))
	if awk -v s="$shares" -v l="$lshares" 'BEGIN { d = s - l * 0.25; if (d < 0) d = -d; exit !(d <= 0.011) }'; then
		ratio_ok=$((ratio_ok + 1))
	elif [ "$strict" = 1 ]; then
		ratio_bad="$ratio_bad $side $shares for the leader's $lshares (tx ${tx:0:10}…);"
	fi
done < <(bot_log_after "$c" | sed -n '/config reloaded/,$p' | copied_lines)
note "BUY copies after the reload at 0.25 x the leader's shares: $ratio_ok of $ratio_checked not reduced by a limit"
[ -z "$ratio_bad" ] || fail "unlimited copies not at copy_ratio 0.25:$ratio_bad"
if [ "${strict:-1}" = 0 ] && [ "$ratio_checked" -ge 1 ] && [ "$ratio_ok" -eq 0 ]; then
	fail "no BUY copy after the reload was sized at copy_ratio 0.25"
fi
finish

# ---------------------------------------------------------------------------
begin 4 "broken config: reload refused, old config kept, still copying"
if polybot check-config --config "$BROKEN_YAML" >/dev/null 2>&1; then
	fail "check-config accepts the broken config"
fi
cp "$BROKEN_YAML" "$CONF"
c=$(cursor)
pid_before=$(prop polybot MainPID)
rc=0
systemctl reload polybot.service || rc=$?
note "systemctl reload exit $rc"
wait_for 10 bot_has_after "$c" 'reload failed' ||
	fail "no 'reload failed' line in the journal"
detail "$(bot_log_after "$c" | grep 'reload failed' | head -n 1)"
st_text=$(prop polybot StatusText)
note "StatusText \"$st_text\""
case $st_text in "reload failed"*) ;; *) fail "StatusText does not start with 'reload failed'" ;; esac
systemctl status --no-pager -n 0 polybot.service 2>&1 | grep -q 'Status: "reload failed' ||
	fail "systemctl status does not show 'reload failed'"
bot_log -p err | grep -q 'reload failed' || fail "journalctl -p err does not show the reload failure"
bot_log -p warning | grep -q 'reload failed' || fail "journalctl -p warning does not show the reload failure"
[ "$(prop polybot ActiveState)/$(prop polybot SubState)" = active/running ] ||
	fail "not active/running: $(prop polybot ActiveState)/$(prop polybot SubState)"
[ "$(prop polybot MainPID)" = "$pid_before" ] || fail "MainPID changed"
st_cli=$(polybot status --socket /run/polybot/admin.sock 2>&1 || true)
if grep -q 'LAST RELOAD REFUSED' <<<"$st_cli"; then
	note "polybot status: LAST RELOAD REFUSED"
else
	fail "polybot status does not say LAST RELOAD REFUSED"
	detail "$st_cli"
fi
# The old config (with leader 3) stays in force: leader 3's fills are still
# handled (copied, or skipped by a risk rule such as the daily circuit
# breaker; an unfollowed leader's fills are not even fetched).
handled_after() { [ "$(bot_log_after "$1" | handled_lines | grep -cE "\"leader\": \"($2)\"")" -ge "${3:-1}" ]; }
wait_for 60 handled_after "$c" "$L3" 1 ||
	fail "no fill of leader 3 handled after the refused reload: the old config is not in force"
note "after the refused reload: $(bot_log_after "$c" | copied_lines | grep -c . || true) copied, $(bot_log_after "$c" | handled_lines | grep -c "\"leader\": \"$L3\"" || true) of leader 3 handled"
# Restore the good config.
cp "$RELOADED" "$CONF"
c=$(cursor)
systemctl reload polybot.service || fail "reload of the restored config failed"
wait_for 10 bot_has_after "$c" 'config reloaded' ||
	fail "restored config: no 'config reloaded'"
case $(prop polybot StatusText) in "reload failed"*) fail "StatusText still says reload failed after the restore" ;; esac
note "restored; StatusText \"$(prop polybot StatusText)\""
finish

# ---------------------------------------------------------------------------
begin 5 "freeze: watchdog restart, no fill lost or copied twice"
pid0=$(prop polybot MainPID)
nr0=$(prop polybot NRestarts)
# Freeze right after a copy: the moment a crash or a hang is most likely to
# catch a fill copied but not yet checkpointed.
cw=$(cursor)
wait_for 30 copies_after "$cw" "$L1|$L2|$L3" 1 || note "no copy within 30 s before the freeze"
n_wd0=$(pid1_count 'polybot.service: Watchdog timeout')
kill -STOP "$pid0"
t0=$(now)
c=$(cursor)
last_copied=$(bot_log | copied_lines | tail -n 1)
freeze_block=$(json_field block <<<"$last_copied")
note "SIGSTOP to $pid0 right after it copied a fill of block $freeze_block"
restarted() {
	local p
	p=$(prop polybot MainPID)
	[ "$p" != 0 ] && [ "$p" != "$pid0" ] && [ "$(systemctl show -p ActiveState -p SubState polybot.service | sed 's/^[A-Za-z]*=//' | paste -sd/)" = active/running ]
}
limit=$((WATCHDOG_SEC + RESTART_SEC + 30))
if wait_for "$limit" restarted; then
	took=$(elapsed "$t0")
	pid1=$(prop polybot MainPID)
	note "active again as PID $pid1 $took s after the freeze (WatchdogSec=$WATCHDOG_SEC + RestartSec=$RESTART_SEC + start-up)"
	awk -v t="$took" -v m="$((WATCHDOG_SEC + RESTART_SEC + 15))" 'BEGIN { exit !(t <= m) }' ||
		fail "restart took $took s, more than WatchdogSec + RestartSec + 15 s"
else
	fail "not restarted within $limit s"
	kill -CONT "$pid0" 2>/dev/null || true
fi
n_wd1=$(pid1_count 'polybot.service: Watchdog timeout')
wd=$(jctl -b -o cat _PID=1 | grep -E '^polybot.service: Watchdog timeout' | tail -n 1)
if [ "$n_wd1" = $((n_wd0 + 1)) ]; then note "systemd: $wd"; else fail "systemd logged $((n_wd1 - n_wd0)) watchdog timeouts, want 1"; fi
abrt=$(bot_log_after "$c" | grep -E '^polybot.service: (Killing process|Main process exited|Failed with result)' | head -n 3)
detail "$abrt"
grep -q "Failed with result 'watchdog'" <<<"$abrt" || fail "result was not 'watchdog'"
if bot_log_after "$c" | grep -q '^goroutine '; then note "goroutine dump (SIGABRT) in the journal"; fi
nr1=$(prop polybot NRestarts)
[ "$nr1" = $((nr0 + 1)) ] || fail "NRestarts $nr0 -> $nr1, want +1"
# Let the new process catch up: backfill (if any) and a few new blocks.
sleep 20
resume=$(bot_log_after "$c" | grep -E $'\t(resuming after the checkpoint|subscribed)\t' | head -n 2)
detail "$resume"
resume_cp=$(grep 'resuming after the checkpoint' <<<"$resume" | json_field checkpoint)
restart_head=$(grep -E $'\tsubscribed\t' <<<"$resume" | json_field head)
end_block=$(sim_log | grep 'leader fill' | json_field block | sort -n | tail -n 1)
# Window: from a few blocks before the freeze to a few blocks before now.
from=$((freeze_block > 5 ? freeze_block - 5 : 0))
to=$((end_block - 3))
fills_in() { # FROM TO: polysim's leader fills mined in blocks FROM..TO, one line each
	sim_log | grep 'leader fill' | awk -v f="$1" -v t="$2" '
		{ if (match($0, /"block": [0-9]+/)) { b = substr($0, RSTART + 9, RLENGTH - 9) + 0; if (b >= f && b <= t) print } }'
}
expected=$(fills_in "$from" "$to" | json_field tx | sort -u)
# pairs LINES: "tx log_index" of copied / skipped / failed lines.
pairs() { awk '{ tx = ""; li = ""; if (match($0, /"tx": "0x[0-9a-f]+"/)) tx = substr($0, RSTART + 7, RLENGTH - 8); if (match($0, /"log_index": [0-9]+/)) li = substr($0, RSTART + 13, RLENGTH - 13); if (tx != "") print tx, li }'; }
copied_pairs=$(bot_log | copied_lines | pairs | sort)
handled_pairs=$(bot_log | handled_lines | pairs | sort)
missing=$(comm -23 <(printf '%s\n' "$expected") <(cut -d' ' -f1 <<<"$handled_pairs" | sort -u) | grep . || true)
copied_twice=$(uniq -d <<<"$copied_pairs" | grep . || true)
handled_twice=$(uniq -d <<<"$handled_pairs" | grep . || true)
nexp=$(grep -c . <<<"$expected" || true)
nmiss=$(grep -c . <<<"$missing" || true)
ncp2=$(grep -c . <<<"$copied_twice" || true)
nh2=$(grep -c . <<<"$handled_twice" || true)
note "restarted daemon: checkpoint ${resume_cp:-none logged}, subscribed at head ${restart_head:-?}"
note "blocks $from..$to: polysim logged $nexp leader fills; never copied/skipped/failed: $nmiss; copied twice: $ncp2; handled twice (copied or skipped, then again): $nh2"
# The fills mined while the daemon was frozen or down.
during=$(fills_in $((freeze_block + 1)) "${restart_head:-0}" | json_field tx | sort -u | grep . || true)
ndur=$(grep -c . <<<"$during" || true)
ndur_ok=$(comm -12 <(printf '%s\n' "$during") <(cut -d' ' -f1 <<<"$handled_pairs" | sort -u) | grep -c . || true)
note "fills mined while frozen or down (blocks $((freeze_block + 1))..${restart_head:-?}): $ndur, handled by the new process: $ndur_ok"
describe() { # TX: which processes handled it, how, and the block
	local tx=$1
	bot_log -o short-monotonic | grep -F "\"tx\": \"$tx\"" | handled_lines_any |
		sed -E 's/^\[ *([0-9.]+)\] [^ ]+ polybot\[([0-9]+)\]: .*(copied|copy skipped|copy failed)\t.*"log_index": ([0-9]+).*"block": ([0-9]+).*/PID \2 \3 (log_index \4, block \5) at \1 s/' | paste -sd';'
}
handled_lines_any() { grep -E $'\t(copied|copy skipped|copy failed)\t' || true; }
if [ "$nmiss" -gt 0 ]; then
	fail "$nmiss of $nexp leader fills in blocks $from..$to never copied (lost)"
	while read -r tx; do
		detail "lost: $(fills_in 0 999999999 | grep -m1 "$tx" | sed -E 's/.*"leader": "(0x[0-9a-f]{4})[0-9a-f]*([0-9a-f]{4})".*"block": ([0-9]+).*"tx": "(0x[0-9a-f]{10}).*/leader \1…\2 block \3 tx \4…/')"
	done < <(head -n 10 <<<"$missing")
fi
if [ "$ncp2" -gt 0 ]; then
	fail "$ncp2 leader fills copied twice (same tx and log_index)"
fi
if [ "$nh2" -gt 0 ]; then
	while read -r tx li; do
		detail "twice: tx ${tx:0:12}… log_index $li: $(describe "$tx")"
	done < <(head -n 10 <<<"$handled_twice")
fi
finish

# ---------------------------------------------------------------------------
begin 6 "stop: clean, within TimeoutStopSec, status 0"
c=$(cursor)
n_kill0=$(pid1_count 'polybot.service: (State .* timed out|Killing process .* with signal SIGKILL)')
t0=$(now)
systemctl stop polybot.service || fail "systemctl stop failed"
took=$(elapsed "$t0")
res="ActiveState=$(prop polybot ActiveState) Result=$(prop polybot Result) ExecMainStatus=$(prop polybot ExecMainStatus) ExecMainCode=$(prop polybot ExecMainCode)"
note "stopped in $took s; $res"
awk -v t="$took" -v m="$TIMEOUT_STOP_SEC" 'BEGIN { exit !(t < m) }' || fail "stop took $took s (TimeoutStopSec=$TIMEOUT_STOP_SEC)"
[ "$(prop polybot ActiveState)" = inactive ] || fail "not inactive"
[ "$(prop polybot Result)" = success ] || fail "Result is not success"
[ "$(prop polybot ExecMainStatus)" = 0 ] || fail "ExecMainStatus is not 0"
[ "$(pid1_count 'polybot.service: (State .* timed out|Killing process .* with signal SIGKILL)')" = "$n_kill0" ] ||
	fail "systemd had to kill it (SIGKILL or a timeout)"
bot_log_after "$c" | grep -q 'polybot stopped' || fail "no 'polybot stopped' line"
detail "$(bot_log_after "$c" | grep 'polybot stopped')"
finish

# ---------------------------------------------------------------------------
begin 7 "invalid config at start: exit 78, failed, no restart"
crc=0
polybot check-config --config "$INVALID" >/dev/null 2>&1 || crc=$?
note "polybot check-config on it: exit $crc"
[ "$crc" != 0 ] || fail "check-config accepts the invalid config"
cp "$INVALID" "$CONF"
c=$(cursor)
n_start0=$(pid1_count 'Starting polybot.service')
n_sched0=$(pid1_count 'polybot.service: Scheduled restart job')
src=0
systemctl start polybot.service 2>/dev/null || src=$?
note "systemctl start exit $src"
[ "$src" != 0 ] || fail "systemctl start succeeded"
show() { echo "ActiveState=$(prop polybot ActiveState) Result=$(prop polybot Result) ExecMainStatus=$(prop polybot ExecMainStatus) NRestarts=$(prop polybot NRestarts)"; }
s1=$(show)
note "right after: $s1"
sleep $((RESTART_SEC + 5))
s2=$(show)
note "after RestartSec + 5 s: $s2"
for s in "$s1" "$s2"; do
	grep -q 'ActiveState=failed' <<<"$s" || fail "not failed: $s"
	grep -q 'ExecMainStatus=78' <<<"$s" || fail "exit status not 78: $s"
	grep -q 'Result=exit-code' <<<"$s" || fail "Result not exit-code: $s"
done
nr_a=$(sed -E 's/.*NRestarts=([0-9]+).*/\1/' <<<"$s1")
nr_b=$(sed -E 's/.*NRestarts=([0-9]+).*/\1/' <<<"$s2")
[ "$nr_b" = 0 ] || fail "NRestarts is $nr_b, want 0"
[ "$nr_a" = "$nr_b" ] || fail "NRestarts moved: $nr_a -> $nr_b"
sched=$(($(pid1_count 'polybot.service: Scheduled restart job') - n_sched0))
[ "$sched" = 0 ] || fail "systemd scheduled $sched restarts"
starts=$(($(pid1_count 'Starting polybot.service') - n_start0))
[ "$starts" = 1 ] || fail "$starts starts, want 1"
st_out=$(systemctl status --no-pager -n 0 polybot.service 2>&1 || true)
# systemd logs status=78/CONFIG; systemctl status of 252 prints status=78.
if grep -qE 'Main PID: .*status=78(/CONFIG)?\)' <<<"$st_out"; then
	note "systemctl status: $(grep -m1 -oE 'Main PID: .*status=78.*' <<<"$st_out")"
else
	fail "systemctl status does not show Main PID ... status=78"
	detail "$st_out"
fi
detail "$(bot_log_after "$c" | grep -v '^$' | grep -viE '^(Starting|Stopped) ' | head -n 3)"
cp "$RELOADED" "$CONF"
systemctl reset-failed polybot.service
finish

# ---------------------------------------------------------------------------
begin 8 "systemd-analyze security polybot = offline score on the host"
out=$(systemd-analyze security --no-pager polybot.service 2>&1)
score=$(sed -nE 's/.*Overall exposure level for polybot.service: ([0-9.]+).*/\1/p' <<<"$out")
off=$(systemd-analyze security --offline=true --no-pager /etc/systemd/system/polybot.service 2>&1 |
	sed -nE 's/.*Overall exposure level for .*: ([0-9.]+).*/\1/p')
host=$(cat "$E2E_DIR/host-exposure" 2>/dev/null || echo "?")
note "guest (running systemd): ${score:-?}; guest --offline=true: ${off:-?}; host --offline=true deploy/polybot.service: $host"
[ -n "$score" ] || { fail "no exposure level in the output"; detail "$out"; }
[ "$score" = "$host" ] || fail "guest exposure ${score:-?} differs from the host's offline $host"
[ "$score" = "$off" ] || fail "guest exposure ${score:-?} differs from the guest's offline ${off:-?}"
if [ "$score" != "$host" ]; then detail "$(grep '✗' <<<"$out")"; fi
finish

log "done; failed steps:${failed_steps:- none}"
[ -z "$failed_steps" ]
