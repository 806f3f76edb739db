#!/usr/bin/env node
// Browser test of the live dashboard: starts a small local cluster with `pgc launch --dashboard`,
// opens the page in headless Chromium (Debian's, driven by playwright-core) and checks that it
// shows the workers and follows the run.
//
//   PGC_EXE=build/tools/pgc node tests/dashboard/dashboard_test.js [--out DIR] [-- COMMAND ARGS...]
//
// COMMAND (default: $PGC_EXE launch ... --dashboard 127.0.0.1:0) must print a line containing
// "dashboard on http://HOST:PORT/". Screenshots go to DIR (default: the current directory):
// dashboard.png on success, dashboard-failure.png on failure. Exit codes: 0 passed, 1 failed,
// 77 skipped (no chromium, no playwright-core, no PGC_EXE), which CTest reports as skipped.
'use strict';

const {spawn} = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const SKIP = 77;
const chromiumPath = process.env.PGC_CHROMIUM || '/usr/bin/chromium';
const workers = 4;

function skip(why) {
  console.log('dashboard test skipped: ' + why);
  process.exit(SKIP);
}

// ---- arguments ----------------------------------------------------------------------------

let outDir = process.cwd();
let command = null;
{
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; ++i) {
    if (args[i] === '--out') {
      outDir = args[++i];
    } else if (args[i] === '--') {
      command = args.slice(i + 1);
      break;
    } else {
      console.error('usage: dashboard_test.js [--out DIR] [-- COMMAND ARGS...]');
      process.exit(2);
    }
  }
}

if (!command) {
  const exe = process.env.PGC_EXE;
  if (!exe || !fs.existsSync(exe)) skip('PGC_EXE does not name the pgc executable (build the pgc target)');
  command = [exe, 'launch', '--workload', 'synthetic', '--workers', String(workers), '--load', '2',
             '--ell', '1', '--iterations', '60', '--dim', '2000', '--samples', '20000', '--slow', '1',
             '--slowdown', '6', '--dashboard', '127.0.0.1:0'];
}

let chromium;
try {
  ({chromium} = require('playwright-core'));
} catch (e) {
  skip('playwright-core is not installed (tools/setup runs npm ci in tests/dashboard)');
}
if (!fs.existsSync(chromiumPath)) skip(chromiumPath + ' not found (apt install chromium)');

// ---- the cluster --------------------------------------------------------------------------

// Its own process group, so that the cleanup reaches the PS and workers that launch started.
const cluster = spawn(command[0], command.slice(1), {
  detached: true,
  stdio: ['ignore', 'pipe', 'pipe'],
});
const output = [];  // the cluster's lines, shown when the test fails
let clusterExit = null;
cluster.on('exit', (code, signal) => { clusterExit = signal || code; });
cluster.on('error', (e) => { clusterExit = 'spawn error: ' + e.message; });

let resolveUrl;
const urlPromise = new Promise((resolve) => { resolveUrl = resolve; });
function collect(stream) {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    pending += chunk;
    let newline;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      output.push(line);
      if (output.length > 400) output.shift();
      // "pgc ps: dashboard on http://127.0.0.1:PORT/", prefixed "[ps] " by pgc launch.
      const match = /dashboard on (https?:\/\/\S+)/.exec(line);
      if (match) resolveUrl(match[1]);
    }
  });
}
collect(cluster.stdout);
collect(cluster.stderr);

function stopCluster() {
  if (clusterExit !== null || cluster.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const group = -cluster.pid;
    const done = () => { clearTimeout(hard); resolve(); };
    cluster.once('exit', done);
    try { process.kill(group, 'SIGTERM'); } catch (e) { done(); return; }
    const hard = setTimeout(() => {
      try { process.kill(group, 'SIGKILL'); } catch (e) { /* gone */ }
      setTimeout(resolve, 500);
    }, 5000);
  });
}

// A test must not leave a cluster behind, whatever ends it.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    try { process.kill(-cluster.pid, 'SIGKILL'); } catch (e) { /* gone */ }
    process.exit(1);
  });
}
process.on('exit', () => {
  if (clusterExit === null && cluster.pid !== undefined) {
    try { process.kill(-cluster.pid, 'SIGKILL'); } catch (e) { /* gone */ }
  }
});

// ---- helpers ------------------------------------------------------------------------------

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(what)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

// Polls `probe` until it returns a truthy value; throws `what` after `ms`.
async function until(probe, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(what);
    await sleep(100);
  }
}

// ---- the test -----------------------------------------------------------------------------

async function main() {
  const url = await withTimeout(
      Promise.race([urlPromise, until(() => clusterExit !== null, 120000, 'never')]).then((v) => {
        if (typeof v !== 'string') throw new Error('the cluster exited (' + clusterExit + ') before printing the dashboard URL');
        return v;
      }),
      60000, 'no "dashboard on http://..." line from the cluster within 60 s');
  console.log('dashboard at ' + url);

  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'pgc-dashboard-profile-'));
  let context = null;
  let page = null;
  const pageErrors = [];
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      viewport: {width: 1280, height: 800},
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
             '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = context.pages()[0] || await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') console.log('page console error: ' + m.text());
    });
    await page.goto(url, {waitUntil: 'load', timeout: 30000});

    await until(async () => (await page.locator('.worker').count()) === workers, 30000,
                'the page does not show ' + workers + ' .worker elements');
    console.log('the page shows ' + workers + ' workers');

    const done = () => page.$$eval('.worker', (els) => els.map((e) => e.dataset.done).join(','));
    const first = await done();
    await until(async () => (await done()) !== first, 30000,
                'no progress bar changed its data-done (stayed ' + first + ')');
    console.log('progress bars move (data-done ' + first + ' -> ' + (await done()) + ')');

    const iteration = async () => {
      const text = (await page.textContent('#iteration')) || '';
      const value = parseInt(text, 10);
      return Number.isFinite(value) ? value : null;
    };
    const start = await until(iteration, 30000, 'the iteration counter shows no number');
    const later = await until(async () => {
      const now = await iteration();
      return now !== null && now > start ? now : null;
    }, 30000, 'the iteration counter stayed at ' + start);
    console.log('the iteration counter goes up (' + start + ' -> ' + later + ')');

    if (pageErrors.length) throw new Error('errors in the page: ' + pageErrors.join('; '));
    // A little more of the run for a useful picture (charts with some points).
    await sleep(1500);
    await page.screenshot({path: path.join(outDir, 'dashboard.png')});
    console.log('screenshot: ' + path.join(outDir, 'dashboard.png'));
    return 0;
  } catch (e) {
    console.log('FAILED: ' + e.message);
    if (pageErrors.length) console.log('page errors: ' + pageErrors.join('; '));
    if (page) {
      try {
        await page.screenshot({path: path.join(outDir, 'dashboard-failure.png')});
        console.log('screenshot: ' + path.join(outDir, 'dashboard-failure.png'));
      } catch (s) { /* no page to show */ }
    }
    console.log('---- cluster output (last lines) ----\n' + output.slice(-60).join('\n'));
    return 1;
  } finally {
    if (context) await context.close().catch(() => {});
    fs.rmSync(profile, {recursive: true, force: true});
  }
}

main()
    .catch((e) => {
      console.log('FAILED: ' + e.message);
      console.log('---- cluster output (last lines) ----\n' + output.slice(-60).join('\n'));
      return 1;
    })
    .then(async (code) => {
      await stopCluster();
      process.exit(code);
    });
