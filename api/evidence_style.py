"""The evidence page's stylesheet: screen and A4 print, colours kept when printed."""

STYLE = """
@page { size: A4; margin: 12mm 11mm; }
* { box-sizing: border-box; }
body { font: 13px/1.45 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #1d2433;
  max-width: 1120px; margin: 0 auto; padding: 18px 20px;
  -webkit-print-color-adjust: exact; print-color-adjust: exact; }
h1 { font-size: 21px; margin: 0 0 2px; }
h2 { font-size: 16px; margin: 22px 0 6px; padding-bottom: 3px; border-bottom: 2px solid #1d2433; }
h3 { font-size: 14px; margin: 14px 0 4px; }
h4 { font-size: 13.5px; margin: 0 0 3px; }
p { margin: 3px 0; }
.meta, .hint { color: #4b5565; }
.hint { font-size: 11.5px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; }
th, td { border: 1px solid #c9ced6; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #eef1f5; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.cite { color: #6b7280; font-size: 10px; white-space: nowrap;
  font-family: "DejaVu Sans Mono", monospace; }
.good { color: #1a7f37; font-weight: 600; } .bad { color: #b42318; font-weight: 600; }
.warn { color: #a15c07; font-weight: 600; }
.empty { color: #b42318; font-style: italic; }
.muted { color: #6b7280; }
td.none { color: #6b7280; background: #f6f7f9; font-style: italic; }
.flag { display: inline-block; font-size: 10px; padding: 0 4px; margin-left: 3px;
  border-radius: 3px; background: #fdecc8; color: #7a4b00; white-space: nowrap; }
.card { border: 1px solid #b8bfca; border-radius: 5px; padding: 9px 11px; margin: 10px 0 12px;
  break-inside: avoid; page-break-inside: avoid; }
.card-head { display: flex; gap: 14px; align-items: flex-start; }
.facts { flex: 1 1 auto; min-width: 0; }
.chart { flex: 0 0 auto; }
.plan { font-size: 15px; margin: 4px 0; }
.plan b { font-size: 16px; }
.score { margin: 2px 0 4px; }
.dot { display: inline-block; width: 9px; height: 9px; border-radius: 50%; margin: 0 1px; }
.on_track { background: #1a7f37; } .at_risk { background: #f0a020; }
.off_track { background: #b42318; }
.strip span.m { font-size: 11px; color: #4b5565; margin: 0 3px 0 7px; }
.strip span.m:first-child { margin-left: 0; }
.change { border-left: 3px solid #f0a020; padding: 1px 0 1px 7px; margin: 5px 0; }
.retired { border-left: 3px solid #6b7280; padding: 1px 0 1px 7px; margin: 5px 0; }
.overview th:first-child { width: 190px; }
.checkins td.month { width: 84px; white-space: nowrap; font-weight: 600; }
.ci { margin: 1px 0; }
.ci .v { font-weight: 600; font-variant-numeric: tabular-nums; }
.corr { color: #a15c07; }
svg text { font-family: "DejaVu Sans", Arial, sans-serif; }
@media print { body { padding: 0; max-width: none; } h2 { break-after: avoid; } }
"""
