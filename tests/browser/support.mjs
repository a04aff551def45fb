// What every browser suite needs: the tessera binary run in a fresh data
// directory without TESSERA_* from this environment, `tessera serve` on a
// free loopback port, headless Debian Chromium, and clean-up when the file's
// tests end.

import { after } from 'node:test';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const binary = process.env.TESSERA_BIN ?? path.resolve('../../target/debug/tessera');
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TESSERA_')));
const cleanups = [];
after(async () => { for (const cleanup of cleanups.reverse()) await cleanup(); });

/** Runs `cleanup` when this file's tests end, last registered first. */
export function onCleanup(cleanup) {
  cleanups.push(cleanup);
}

/** A fresh data directory and the commands that use it. */
export function tesseraHome(name) {
  const dataDir = mkdtempSync(path.join(tmpdir(), `tessera-${name}-`));
  return {
    /** `tessera ARGS` with `input` on standard input; returns standard output. */
    run(args, input) {
      return execFileSync(binary, ['--data-dir', dataDir, ...args], { env, input, encoding: 'utf8' });
    },
    /** Starts `tessera serve`; resolves with its issuer and its output so far. */
    async serve(extraEnv = {}) {
      const child = spawn(binary, ['--data-dir', dataDir, 'serve', '--listen', '127.0.0.1:0'],
        { env: { ...env, ...extraEnv } });
      onCleanup(async () => { child.kill('SIGTERM'); });
      let output = '';
      return await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`tessera serve did not start: ${output}`)), 30_000);
        child.stdout.on('data', (chunk) => {
          output += chunk;
          const match = output.match(/issuer:\s+(\S+)/);
          if (match) { clearTimeout(timer); resolve({ issuer: match[1], output: () => output }); }
        });
        child.on('exit', (code) => reject(new Error(`tessera serve exited with ${code}: ${output}`)));
      });
    },
  };
}

/** Headless Debian Chromium (never a downloaded browser), closed at the end. */
export async function launchChromium() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run'],
  });
  onCleanup(async () => { await browser.close(); });
  return browser;
}
