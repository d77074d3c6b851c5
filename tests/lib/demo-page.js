'use strict';
// What a person does on the demo's chat page, as test steps: open it (connected and joined),
// rename, type, send, wave; and what they see: the online list, messages, typing line,
// notifications, chart points. Waits are for conditions on the page, never for time.

const { openPage, waitFor, DESKTOP } = require('./browser');

// Opens the chat page as a new person and waits until it is connected and in the online list.
async function openChat(browser, url, viewport = DESKTOP) {
  const page = await openPage(browser, viewport);
  await page.goto(url);
  await waitFor(page, 'the page to connect to the mesh', () => document.body.dataset.connection === 'connected');
  await waitFor(page, 'the page to join the chat', () => [...document.querySelectorAll('#online li')].some((li) => li.textContent.includes('(you)')));
  page.userId = await page.evaluate(() => [...document.querySelectorAll('#online li')].find((li) => li.textContent.includes('(you)')).dataset.userId);
  return page;
}

async function rename(page, name) {
  await page.fill('#name', name);
  await page.click('#name-form button');
  await waitFor(page, `own name ${name} in the online list`, (n) => [...document.querySelectorAll('#online li')].some((li) => li.textContent.startsWith(`${n} (you)`)), name);
}

// Waits until the online list shows exactly `names` (in any order; "(you)" ignored).
async function waitOnline(page, names) {
  await waitFor(
    page,
    `online list = ${names.join(', ')}`,
    (want) => {
      const have = [...document.querySelectorAll('#online li .who')].map((e) => e.textContent.replace(/ \(you\)$/, '')).sort();
      return JSON.stringify(have) === JSON.stringify([...want].sort());
    },
    names,
  );
}

async function say(page, text) {
  await page.fill('#message', text);
  await page.click('#message-form button');
}

async function waitMessage(page, from, text) {
  await waitFor(page, `message "${text}" from ${from}`, ([f, t]) => [...document.querySelectorAll('#messages li')].some((li) => li.querySelector('.who').textContent === f && li.querySelector('.text').textContent === t), [from, text]);
}

async function wave(page, name) {
  await page.click(`#online li:has-text("${name}") button.wave`);
}

async function waitNotification(page, text) {
  await waitFor(page, `notification "${text}"`, (t) => [...document.querySelectorAll('#notifications li .text')].some((e) => e.textContent === t), text);
}

// Resolves with the number of points the dashboard chart draws once it reaches at least n.
async function waitChartPoints(page, n) {
  const handle = await waitFor(page, `${n} points on the dashboard chart`, (want) => {
    const chart = window.Chart && window.Chart.getChart('chart');
    const len = chart ? chart.data.datasets[0].data.length : 0;
    return len >= want && len;
  }, n);
  return handle.jsonValue();
}

// Waits until the page is no wider than its viewport (everything fits a phone screen), e.g.
// once charts have followed a viewport change.
async function waitFitsWidth(page) {
  await waitFor(page, 'the page to fit the viewport width', () => document.documentElement.scrollWidth <= window.innerWidth);
}

module.exports = { openChat, rename, waitOnline, say, waitMessage, wave, waitNotification, waitChartPoints, waitFitsWidth };
