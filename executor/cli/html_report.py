"""``executor report FILE.json -o report.html``: a build report (docs/BUILD_REPORT.md) as one
self-contained HTML page: a timeline (stages, steps, base pulls and the push as bars placed by
their start and duration) and the per-step table. CSS and JS are inline, nothing is fetched; the
report's JSON is embedded and the page draws itself from it, so the page shows what the file
says and nothing is computed twice."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from executor.atomic import write_text_atomically
from executor.cli.main import FlagParser
from executor.cli.report import SCHEMA
from executor.errors import UsageError

__all__ = ["render_html", "run_report"]

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
h1{font-size:20px;margin:0 0 4px}.meta{color:#555;margin-bottom:16px}
.failed{color:#b00020}.timeline{position:relative;border-left:1px solid #ccc;margin:8px 0 24px}
.lane{position:relative;height:22px;margin:3px 0}
.lane .label{position:absolute;left:-230px;width:220px;text-align:right;white-space:nowrap;
overflow:hidden;text-overflow:ellipsis;color:#444;font-size:12px;line-height:22px}
.bar{position:absolute;top:2px;height:18px;border-radius:3px;min-width:2px;opacity:.9}
.bar.stage{background:#8e9aaf}.bar.step{background:#4e79a7}.bar.step.hit{background:#59a14f}
.bar.step.failed{background:#e15759}.bar.pull{background:#f28e2b}.bar.push{background:#b07aa1}
.wrap{padding-left:240px}.axis{color:#777;font-size:11px}
table{border-collapse:collapse;width:100%}th,td{padding:4px 8px;border-bottom:1px solid #eee;
text-align:left;font-size:13px}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.instr{font-family:ui-monospace,monospace;max-width:520px;overflow:hidden;text-overflow:ellipsis;
white-space:nowrap}.reason{color:#777;font-size:12px}
"""

_SCRIPT = """
const r = JSON.parse(document.getElementById('report-data').textContent);
const t0 = Date.parse(r.started), total = Math.max(r.duration_seconds, 0.001);
const el = (tag, attrs, text) => { const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text; return e; };
const pct = s => (100 * s / total).toFixed(3) + '%';
const size = b => b < 1e3 ? b + ' B' : b < 1e6 ? (b / 1e3).toFixed(1) + ' kB' : (b / 1e6).toFixed(1) + ' MB';
const tl = document.getElementById('timeline');
function lane(label, cls, start, seconds, title) {
  const row = el('div', {class: 'lane'});
  row.appendChild(el('div', {class: 'label', title: label}, label));
  const bar = el('div', {class: 'bar ' + cls, title: title + ' ' + seconds.toFixed(2) + 's',
    'data-start': start.toFixed(3), 'data-seconds': seconds.toFixed(3)});
  bar.style.left = pct(start); bar.style.width = pct(seconds);
  row.appendChild(bar); tl.appendChild(row); }
const at = iso => (Date.parse(iso) - t0) / 1000;
const table = document.getElementById('steps');
for (const st of r.stages) {
  const sname = 'stage ' + st.index + (st.name ? ' (' + st.name + ')' : '');
  lane(sname, 'stage', at(st.started), st.duration_seconds, sname);
  if (st.prepare_seconds > 0) lane('pull ' + (st.base ? st.base.name : 'base'), 'pull',
    at(st.started), st.prepare_seconds, 'pull/prepare');
  for (const s of st.steps) {
    const cls = 'step ' + (s.status === 'failed' ? 'failed' : s.cache);
    lane(s.line + ' ' + s.instruction, cls, at(s.started), s.duration_seconds, s.instruction);
    const tr = el('tr', {class: 'step-row'});
    tr.appendChild(el('td', {class: 'num'}, String(st.index)));
    tr.appendChild(el('td', {class: 'num'}, String(s.line)));
    const td = el('td', {class: 'instr', title: s.instruction}, s.instruction);
    if (s.reason) { td.appendChild(el('br')); td.appendChild(el('span', {class: 'reason'}, 'missed: ' + s.reason)); }
    tr.appendChild(td);
    tr.appendChild(el('td', {class: 'result'}, s.status === 'failed' ? 'FAILED' : s.cache === 'hit' ? 'cached' : 'run'));
    tr.appendChild(el('td', {class: 'num duration'}, s.duration_seconds.toFixed(2) + 's'));
    tr.appendChild(el('td', {class: 'num'}, s.layer && s.layer.size != null ? size(s.layer.size) : '-'));
    table.appendChild(tr); } }
if (r.push && r.push.duration_seconds > 0)
  lane('push / output', 'push', at(r.push.started), r.push.duration_seconds, 'push');
const ax = document.getElementById('axis');
ax.textContent = '0s \\u2014 ' + total.toFixed(2) + 's';
const tot = document.getElementById('totals');
for (const [k, v] of Object.entries(r.totals || {})) tot.appendChild(el('li', {}, k + ': ' + v.toFixed(2) + 's'));
"""


def render_html(report: dict[str, Any]) -> str:
    """The page for ``report`` (a parsed build report)."""
    data = json.dumps(report, ensure_ascii=False).replace("</", "<\\/")  # never ends the script
    status = str(report.get("status", "?"))
    title = html.escape(f"lamina build {status}")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<style>{_STYLE}</style></head>
<body>
<h1 class="{'failed' if status == 'failed' else ''}">{title}</h1>
<div class="meta" id="meta"></div>
<h2>Timeline</h2>
<div class="wrap"><div class="timeline" id="timeline"></div><div class="axis" id="axis"></div></div>
<h2>Steps</h2>
<table><thead><tr><th>stage</th><th>line</th><th>instruction</th><th>result</th><th>time</th><th>layer</th></tr></thead>
<tbody id="steps"></tbody></table>
<h2>Totals</h2><ul id="totals"></ul>
<script type="application/json" id="report-data">{data}</script>
<script>{_SCRIPT}
document.getElementById('meta').textContent = r.started + ' \\u00b7 ' + r.duration_seconds.toFixed(2) + 's'
  + (r.image ? ' \\u00b7 ' + r.image.digest : '') + (r.error ? ' \\u00b7 error: ' + r.error.message : '');
</script>
</body></html>
"""


def run_report(argv: Sequence[str]) -> int:
    parser = FlagParser(prog="executor report", description="Turn a --build-report JSON file into "
                        "one self-contained HTML page (timeline and steps).")
    parser.add_argument("report", metavar="FILE.json", help="a report written by --build-report")
    parser.add_argument("-o", "--output", required=True, metavar="FILE.html", help="the page to write")
    args = parser.parse_args(list(argv))
    source = Path(args.report)
    try:
        report = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{source}: no such file; pass the file --build-report wrote") from None
    except ValueError as error:
        raise UsageError(f"{source}: not JSON ({error}); pass the file --build-report wrote") from None
    if not isinstance(report, dict) or report.get("schema") != SCHEMA:
        raise UsageError(f"{source}: not a build report of schema {SCHEMA}; pass the file "
                         "--build-report wrote")
    write_text_atomically(Path(args.output), render_html(report))
    return 0
