#!/usr/bin/env bash
# End-to-end demo on the embedded default (a SQLite file and a local mail spool):
# register the Norfolk report, walk its response through every state, show the result.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"
DEMO="$ROOT/demo"
# A server left running by an earlier demo would answer for a database deleted below.
if [ -f "$DEMO/serve.pid" ]; then kill "$(cat "$DEMO/serve.pid")" 2>/dev/null || true; fi
KEYS="$ROOT/demo-keys"
rm -rf "$DEMO" "$KEYS" && mkdir -p "$DEMO"
export S55_DATABASE_URL="sqlite:///$DEMO/s55.db" S55_SPOOL_DIR="$DEMO/spool"
# The audit key (owner-only; `s55 init` makes it) signs every event: in a folder of its own,
# never beside the database (an office leaves S55_AUDIT_KEY_FILE unset: the key goes to the
# service account's ~/.config/s55/). Checkpoints of the chain go to a file and the auditors.
export S55_AUDIT_KEY_FILE="$KEYS/audit.key" S55_CHECKPOINT_FILE="$DEMO/checkpoints.txt"
# The approvers' links in mail point here (`s55 serve` below); https in production.
export S55_BASE_URL="http://127.0.0.1:${S55_DEMO_PORT:-8055}"
EX="$ROOT/examples/norfolk"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Set up the database, the office's settings and the people"
# The force, the office's name and the identity mode are the database's (`s55 office show`).
# One officer plays every part, so --as is taken on trust (every event says "claimed");
# a real office runs --identity os (see the README).
s55 init --force "Norfolk" --office "Office of the Police and Crime Commissioner for Norfolk" \
  --identity claimed \
  --admin-email governance@opcc-norfolk.example --admin-name "Governance Officer"
export S55_ACTOR=governance@opcc-norfolk.example
s55 people add "Force Liaison" liaison@norfolk.police.example --role force
s55 people add "Police and Crime Commissioner" pcc@opcc-norfolk.example --role pcc
s55 people add "OPCC Chief Executive" ceo@opcc-norfolk.example --role chief_executive
s55 people add "Police and Crime Panel" panel@norfolk-council.example --role panel
s55 people add "Internal Audit" audit@opcc-norfolk.example --role auditor
s55 people list

step "Register the HMICFRS report (published 10 Oct 2024: deadline 4 Dec 2024 by s55(5A))"
s55 report add --file "$EX/report.toml"
s55 edit 1 key_findings --file "$EX/key-findings.md"
s55 show 1

step "draft -> force_input: ask the Chief Constable for comments"
s55 request-force-input 1

step "The force answers each recommendation, then submits"
for n in 1 2 3 4 8; do
  s55 rec respond 1 "$n" --file "$EX/force-rec-$n.md" --as liaison@norfolk.police.example
done
s55 edit 1 cc_response --file "$EX/cc-response.md" --as liaison@norfolk.police.example
s55 submit-force-input 1 --as liaison@norfolk.police.example

step "The PCC writes and signs off (this forwards it to the panel and Chief Constable)"
s55 edit 1 pcc_response --file "$EX/pcc-response.md" --as pcc@opcc-norfolk.example
s55 sign-off 1 --as pcc@opcc-norfolk.example

step "Published on the OPCC website, then submitted on the HMICFRS Monitoring Portal"
s55 publish 1 --url https://www.norfolk-pcc.gov.uk/hmicfrs/asb-spotlight-2024 --published-on 2024-12-03
s55 submit-to-portal 1 --portal-reference HMICFRS-MP-2024-0457

step "Deliver the queued mail (no SMTP configured: .eml files in the spool)"
s55 mail send
ls "$S55_SPOOL_DIR" | head -20

step "A second, recent report still waiting on the force: its deadline and escalations ahead"
s55 report add --title "PEEL 2025-27: an inspection of Norfolk Constabulary" \
  --published "$(date -d '-20 days' +%F)" --types "PEEL" --forces "Norfolk" \
  --link "https://www.justiceinspectorates.gov.uk/hmicfrs/peel-2025-27-norfolk/" \
  --rec "1=By 31 March 2027, the constabulary should improve how it records crime." \
  --afi "1=The constabulary should improve how it supervises investigations." \
  --afi "2=The constabulary should make sure victims are kept updated."
s55 request-force-input 2
s55 escalations plan 2

step "Dashboard, state log and audit chain"
s55 list --all
s55 log 1
s55 audit checkpoint
s55 audit verify --checkpoints "$DEMO/checkpoints.txt"
s55 audit report --format html --output "$DEMO/audit-report.html" && echo "auditor's report in $DEMO/audit-report.html"
s55 render 1 --format md --output "$DEMO/norfolk-response.md" && echo "rendered $DEMO/norfolk-response.md"

step "A third report, answered by the force, now waiting on the PCC's sign-off"
s55 report add --title "Custody services in Norfolk: an unannounced inspection" \
  --published "$(date -d '-10 days' +%F)" --types "Custody" --forces "Norfolk" \
  --link "https://www.justiceinspectorates.gov.uk/hmicfrs/custody-norfolk/" \
  --rec "1=By 30 June 2027, the constabulary should improve its custody records."
s55 edit 3 key_findings --text "Detainees are treated respectfully; records need to improve."
s55 request-force-input 3
s55 rec respond 3 1 --text "Accepted: a new records check starts in April." --as liaison@norfolk.police.example
s55 submit-force-input 3 --as liaison@norfolk.police.example
s55 mail send

step "The web pages: the links the force liaison and the PCC received"
PORT="${S55_DEMO_PORT:-8055}"
s55 serve --port "$PORT" --secret-file "$DEMO/web.secret" > "$DEMO/serve.log" 2>&1 &
SERVE_PID=$!
echo "$SERVE_PID" > "$DEMO/serve.pid"
for _ in $(seq 50); do curl -fsS -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null && break; sleep 0.1; done
if ! kill -0 "$SERVE_PID" 2>/dev/null; then
  echo "s55 serve did not start (port $PORT taken? set S55_DEMO_PORT):" >&2
  cat "$DEMO/serve.log" >&2
  exit 1
fi
python3 - "$S55_SPOOL_DIR" <<'PY'
import re, sys
from email import message_from_bytes, policy
from pathlib import Path
latest = {}
for eml in sorted(Path(sys.argv[1]).glob("*.eml"), key=lambda p: p.stat().st_mtime):
    msg = message_from_bytes(eml.read_bytes(), policy=policy.default)
    body = msg.get_body(("plain",))
    for url in re.findall(r"https?://\S+/l/[A-Za-z0-9_-]+", body.get_content() if body else ""):
        latest[(str(msg["To"]), str(msg["Subject"])[:9])] = (url, str(msg["Subject"]))
# The force still owes response 2; response 3 waits on the PCC.
for who, tag in (("liaison@norfolk.police.example", "[s55 #2]"),
                 ("pcc@opcc-norfolk.example", "[s55 #3]")):
    for (to, start), (url, subject) in latest.items():
        if who in to and start.startswith(tag):
            print(f"{who}\n  {subject}\n  {url}\n")
PY
echo "s55 serve is running (pid $SERVE_PID, log $DEMO/serve.log): open the links above."
echo "Readers sign in at http://127.0.0.1:$PORT/sign-in (e.g. audit@opcc-norfolk.example;"
echo "the sign-in link lands in $S55_SPOOL_DIR after 's55 mail send')."
echo "Stop it with: kill $SERVE_PID"
