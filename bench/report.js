'use strict';
// The benchmark's outputs: tables on stdout, the numbers as JSON and a bar chart (SVG) under
// bench/results/.
//
// A row is { layer, gflop, results: { [peer name]: { ms, gflops, shareOfPeak, ... } | { skipped } } };
// a peer is { name, short } (short: the table's column header, name: the full name, legend and JSON key),
// and { bridgeOf } for a vendor runtime called directly: the name of the stridekit peer that runs the
// same model through the bridge (its "vs" column becomes a "bridge" column: stridekit's ms / the peer's).

const fs = require('node:fs');
const path = require('node:path');

function pad(text, width, right = false) {
  const s = String(text);
  return right ? s.padStart(width) : s.padEnd(width);
}

function ran(result) {
  return Boolean(result) && result.ms !== undefined;
}

/** A share of a GEMM (result[key], a fraction) as a table cell: a percentage, 'unsupported' or 'n/a'. */
function shareCell(result, key) {
  if (ran(result) && result[key] !== undefined) return `${(100 * result[key]).toFixed(1)}%`;
  return result && result.skipped ? 'unsupported' : 'n/a';
}

/** How many times faster `reference` ran than `peer` on this row, or null. */
function speedup(row, reference, peer) {
  const a = row.results[reference], b = row.results[peer];
  if (!ran(a) || !ran(b)) return null;
  return b.ms / a.ms;
}

/**
 * How many times longer stridekit's run through the bridge took than the vendor called directly
 * (median run, or with `best` the fastest run of each), or null.
 */
function bridgeRatio(row, directPeer, best = false) {
  const plugin = row.results[directPeer.bridgeOf], direct = row.results[directPeer.name];
  if (!ran(plugin) || !ran(direct)) return null;
  return best ? plugin.minMs / direct.minMs : plugin.ms / direct.ms;
}

function geometricMean(values) {
  if (values.length === 0) return null;
  return Math.exp(values.reduce((s, v) => s + Math.log(v), 0) / values.length);
}

/** Prints a table: columns as wide as their widest cell, the first left-aligned, the others right. */
function printGrid(header, body) {
  const widths = header.map((h, c) => Math.max(String(h).length, ...body.map((cells) => String(cells[c]).length)));
  const line = (cells) => cells.map((cell, c) => pad(cell, widths[c], c > 0)).join('  ').trimEnd();
  console.log(line(header));
  for (const cells of body) console.log(line(cells));
}

/**
 * Prints the peers, then table 1 (ms, GFLOP/s, speed-ups), table 2 (share of the GEMM peak) and
 * table 3 (share of the GEMM timed beside each layer).
 */
function printTable(rows, peers, reference, peak) {
  const ref = peers.find((p) => p.name === reference);
  const others = peers.filter((p) => p.name !== reference && !p.bridgeOf);
  const directs = peers.filter((p) => p.bridgeOf);
  const footnotes = [];
  const shortWidth = Math.max(...peers.map((p) => p.short.length));

  console.log('peers (column header, full name, what the timed region includes):');
  for (const p of peers) console.log(`  ${pad(p.short, shortWidth)}  ${p.name}${p.timed ? `: ${p.timed}` : ''}`);

  console.log(`\nmedian ms (GFLOP/s); "vs X": how many times faster ${ref.short} ran than X (above 1: ${ref.short} is faster)`);
  for (const p of directs) {
    const plugin = peers.find((q) => q.name === p.bridgeOf);
    console.log(`"bridge": ${plugin ? plugin.short : p.bridgeOf} ms / ${p.short} ms, what stridekit adds around the same model (1.00x: nothing); "best": the same for the fastest run of each`);
  }
  printGrid(
    ['layer', 'GFLOP', ...peers.map((p) => p.short), ...others.map((p) => `vs ${p.short}`), ...directs.flatMap(() => ['bridge', 'best'])],
    rows.map((row) => [
      row.layer,
      row.gflop.toFixed(3),
      ...peers.map((p) => {
        const r = row.results[p.name];
        if (ran(r) && r.note) {
          footnotes.push(`  † ${p.short} on ${row.layer}: ${r.note}`);
          return `${r.ms.toFixed(3)} (${r.gflops.toFixed(1)})†`;
        }
        if (ran(r)) return `${r.ms.toFixed(3)} (${r.gflops.toFixed(1)})`;
        if (r && r.skipped) {
          footnotes.push(`  * ${p.short} on ${row.layer}: ${r.skipped}`);
          return 'unsupported*';
        }
        return 'n/a';
      }),
      ...others.map((p) => {
        const ratio = speedup(row, reference, p.name);
        return ratio === null ? 'n/a' : `${ratio.toFixed(2)}x`;
      }),
      ...directs.flatMap((p) => [false, true].map((best) => {
        const ratio = bridgeRatio(row, p, best);
        return ratio === null ? 'n/a' : `${ratio.toFixed(3)}x`;
      })),
    ]),
  );
  for (const f of footnotes) console.log(f);

  console.log(`\nshare of the measured GEMM peak (${peak.gflops.toFixed(1)} GFLOP/s, best run of ${peak.m}x${peak.n}x${peak.k} through the ${peak.backend} backend's own kernel)`);
  printGrid(
    ['layer', ...peers.map((p) => p.short)],
    rows.map((row) => [
      row.layer,
      ...peers.map((p) => shareCell(row.results[p.name], 'shareOfPeak')),
    ]),
  );

  // The same GEMM, timed in each layer's slices beside the peers: the load of the peak's own minutes,
  // which on a shared machine may differ from the layer's, cancels out of this share.
  console.log(`\nshare of the same GEMM timed side by side with each layer's peers, median against median (GEMM: its GFLOP/s there)`);
  printGrid(
    ['layer', ...peers.map((p) => p.short), 'GEMM'],
    rows.map((row) => [
      row.layer,
      ...peers.map((p) => shareCell(row.results[p.name], 'shareOfGemmBeside')),
      row.gemmBeside ? row.gemmBeside.gflops.toFixed(1) : 'n/a',
    ]),
  );
}

function writeJson(file, data) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
}

const COLORS = ['#1f77b4', '#aec7e8', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22'];

function escapeXml(s) {
  return String(s).replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' }[c]));
}

/** Rough width in pixels of sans-serif text (no font metrics in Node): enough to lay out a legend. */
function textWidth(text, size) {
  return String(text).length * size * 0.56;
}

/** Lines of at most `columns` characters, broken at spaces; continuation lines indented. */
function wrap(text, columns) {
  const lines = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > columns) {
      lines.push(line);
      line = `    ${word}`;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** A round axis maximum at or above v, and its tick step. */
function niceAxis(v) {
  const raw = v / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  return { max: Math.ceil(v / step) * step, step };
}

/**
 * Horizontal grouped bars of GFLOP/s per layer and peer, with the measured GEMM peak as a dashed line.
 * options: { title, subtitle, peak: { gflops }, notes: lines of text printed under the chart }
 */
function writeSvg(file, rows, peers, { title, subtitle = '', peak = null, notes: extraNotes = [] } = {}) {
  const width = 980, margin = 12, fontSize = 11;
  const labelWidth = Math.min(260, Math.max(120, ...rows.map((r) => textWidth(r.layer, fontSize) + 16)));
  const plotLeft = margin + labelWidth, plotWidth = width - plotLeft - 56;
  const bar = peers.length > 4 ? 9 : 11, gap = 12;
  const color = (i) => COLORS[i % COLORS.length];

  // Legend: entries flow left to right and wrap.
  const legend = [];
  let lx = margin, ly = subtitle ? 56 : 40;
  for (const [i, p] of peers.entries()) {
    const w = 18 + textWidth(p.name, fontSize) + 18;
    if (lx + w > width - margin && lx > margin) { lx = margin; ly += 18; }
    legend.push(`<rect x="${lx}" y="${ly}" width="12" height="12" fill="${color(i)}"/>`);
    legend.push(`<text x="${lx + 17}" y="${ly + 10}">${escapeXml(p.name)}</text>`);
    lx += w;
  }
  const top = ly + 34;
  const groupHeight = bar * peers.length + gap;
  const plotHeight = rows.length * groupHeight;
  const notes = rows.flatMap((r) => peers.flatMap((p) => {
    const result = r.results[p.name];
    if (result && result.skipped) return [`${p.name} on ${r.layer}: ${result.skipped}`];
    if (result && result.note) return [`† ${p.name} on ${r.layer}: ${result.note}`];
    return [];
  })).concat(extraNotes);
  const noteLines = notes.flatMap((note) => wrap(note, Math.floor((width - 2 * margin) / textWidth('x', 10))));
  const height = top + plotHeight + 48 + noteLines.length * 14;

  const values = rows.flatMap((r) => peers.map((p) => (ran(r.results[p.name]) ? r.results[p.name].gflops : 0)));
  const axis = niceAxis(Math.max(1, peak ? peak.gflops * 1.05 : 0, ...values));
  const x = (v) => plotLeft + (v / axis.max) * plotWidth;

  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, Helvetica, sans-serif" font-size="${fontSize}">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${margin}" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  if (subtitle) parts.push(`<text x="${margin}" y="40" fill="#444">${escapeXml(subtitle)}</text>`);
  parts.push(...legend);

  // Grid and axis.
  for (let v = 0; v <= axis.max + 1e-9; v += axis.step) {
    parts.push(`<line x1="${x(v).toFixed(1)}" y1="${top - 4}" x2="${x(v).toFixed(1)}" y2="${top + plotHeight}" stroke="#e4e4e4"/>`);
    parts.push(`<text x="${x(v).toFixed(1)}" y="${top + plotHeight + 16}" text-anchor="middle">${Number(v.toFixed(2))}</text>`);
  }
  parts.push(`<line x1="${plotLeft}" y1="${top + plotHeight}" x2="${plotLeft + plotWidth}" y2="${top + plotHeight}" stroke="black"/>`);
  parts.push(`<line x1="${plotLeft}" y1="${top - 4}" x2="${plotLeft}" y2="${top + plotHeight}" stroke="black"/>`);
  parts.push(`<text x="${plotLeft + plotWidth / 2}" y="${top + plotHeight + 34}" text-anchor="middle">GFLOP/s (higher is better)</text>`);

  rows.forEach((row, r) => {
    if (r % 2 === 1) parts.push(`<rect x="${margin}" y="${top + r * groupHeight}" width="${width - 2 * margin}" height="${groupHeight}" fill="#000" fill-opacity="0.035"/>`);
  });
  // The peak under the bars, so that it never hides a value.
  if (peak) {
    const px = x(peak.gflops).toFixed(1);
    parts.push(`<line x1="${px}" y1="${top - 8}" x2="${px}" y2="${top + plotHeight}" stroke="#d62728" stroke-dasharray="5,4" stroke-width="1.5"/>`);
    parts.push(`<text x="${px}" y="${top - 12}" text-anchor="middle" fill="#d62728">GEMM peak ${peak.gflops.toFixed(1)}</text>`);
  }
  rows.forEach((row, r) => {
    const y0 = top + r * groupHeight + gap / 2;
    parts.push(`<text x="${plotLeft - 8}" y="${y0 + (bar * peers.length) / 2 + 4}" text-anchor="end">${escapeXml(row.layer)}</text>`);
    peers.forEach((p, i) => {
      const result = row.results[p.name];
      const y = y0 + i * bar;
      if (!ran(result)) {
        const why = result && result.skipped ? 'unsupported' : 'n/a';
        parts.push(`<text x="${plotLeft + 4}" y="${y + bar - 2}" font-size="${bar - 1}" font-style="italic" fill="#888">${why}</text>`);
        return;
      }
      const end = x(result.gflops);
      parts.push(`<rect x="${plotLeft}" y="${y}" width="${Math.max(0.5, end - plotLeft).toFixed(1)}" height="${bar - 1}" fill="${color(i)}"/>`);
      const label = (result.gflops < 10 ? result.gflops.toFixed(2) : result.gflops.toFixed(1)) + (result.note ? ' †' : '');
      parts.push(`<text x="${(end + 3).toFixed(1)}" y="${y + bar - 2}" font-size="${bar - 1}">${label}</text>`);
    });
  });

  noteLines.forEach((line, i) => {
    parts.push(`<text x="${margin}" y="${top + plotHeight + 54 + i * 14}" font-size="10" fill="#444">${escapeXml(line)}</text>`);
  });
  parts.push('</svg>');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${parts.join('\n')}\n`);
}

module.exports = { printTable, speedup, bridgeRatio, geometricMean, writeJson, writeSvg, ran };
