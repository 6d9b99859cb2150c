import { connect, expectOk, request, signIn as signInApi } from '../helpers/client';
import { pngOf } from '../helpers/png';
import {
  messageText,
  noLonger,
  screenshot,
  see,
  signIn,
  useTwoReplicas,
} from './helpers';

// Two people, two browser profiles, two app replicas joined by Redis, one MongoDB (FerretDB).
jest.setTimeout(90_000);

// Seeding history goes faster than people type; the limit is not what this suite tests.
const stage = useTwoReplicas({ env: { MESSAGE_RATE_LIMIT: '1000' } });
const { one, two } = stage;

test('signing in asks for a usable name', async () => {
  const context = await stage.browser.newContext({ baseURL: one().url });
  const page = await context.newPage();
  await page.goto('/');
  await page.getByLabel('Your name').fill('   ');
  await page.getByRole('button', { name: 'Join the chat' }).click();
  await see(page.getByRole('alert').getByText('Enter a name'));
  await screenshot(page, 'login');
  await context.close();
});

test('two people on different replicas chat both ways and see who is typing', async () => {
  const alice = await signIn(stage.browser, one(), 'Alice');
  const bob = await signIn(stage.browser, two(), 'Bob');
  // Each page shows the replica it is on: presenters watch the load balancing.
  await see(alice.page.locator('#server-badge').getByText(one().name));
  await see(bob.page.locator('#server-badge').getByText(two().name));
  await see(bob.page.locator('#server-badge').getByText('redis'));

  await alice.say('Hi Bob, can you read me from the other replica?');
  await see(messageText(bob.page, 'Hi Bob, can you read me from the other replica?'));

  const box = bob.page.getByLabel('Message', { exact: true });
  await box.pressSequentially('Loud and clear');
  await see(alice.page.locator('#typing').getByText('Bob is typing…'));
  expect(await bob.page.locator('#typing').textContent()).toBe(''); // never shown to the typist
  await box.fill('');
  await box.dispatchEvent('input');
  await noLonger(alice.page.locator('#typing').getByText('Bob is typing…'));

  await box.pressSequentially('Loud and clear!');
  await see(alice.page.locator('#typing').getByText('Bob is typing…'));
  await box.press('Enter');
  await see(messageText(alice.page, 'Loud and clear!'));
  await noLonger(alice.page.locator('#typing').getByText('Bob is typing…'));

  const alicesBox = alice.page.getByLabel('Message', { exact: true });
  await alicesBox.pressSequentially('Multi-line');
  await alicesBox.press('Shift+Enter');
  await alicesBox.pressSequentially('works too');
  await alicesBox.press('Enter');
  await see(messageText(bob.page, 'Multi-line\nworks too'));
  expect(await alice.messages()).toEqual(await bob.messages());
  await box.pressSequentially('Deploying the next one now');
  await see(alice.page.locator('#typing').getByText('Bob is typing…'));
  await screenshot(alice.page, 'chat-desktop');
  await alice.close();
  await bob.close();
});

test('a message with HTML in it shows literally', async () => {
  const mallory = await signIn(stage.browser, one(), 'Mallory');
  const carol = await signIn(stage.browser, two(), 'Carol');
  const html = '<script>window.pwned = 1</script><img src="x" onerror="window.pwned = 2"><b>bold?</b>';
  await mallory.say(html);
  await see(messageText(carol.page, html));
  expect(await carol.page.locator('#message-list img:not(.avatar), #message-list script, #message-list b').count()).toBe(0);
  expect(await carol.page.evaluate(() => 'pwned' in globalThis)).toBe(false);
  await mallory.close();
  await carol.close();
});

test('the presence list shows both people and drops the one who closes the tab', async () => {
  const dana = await signIn(stage.browser, one(), 'Dana');
  const erik = await signIn(stage.browser, two(), 'Erik');
  const people = dana.page.locator('#presence-list');
  await see(people.getByText('Erik', { exact: true }));
  await see(people.getByText('Dana', { exact: true }));
  await see(erik.page.locator('#presence-list').getByText('Dana', { exact: true }));
  await see(dana.page.locator('#online-count').getByText('2', { exact: true }));

  await erik.close();
  await noLonger(people.getByText('Erik', { exact: true }));
  await see(dana.page.locator('#online-count').getByText('1', { exact: true }));
  await dana.close();
});

test('a profile photo uploaded on one replica shows on the other', async () => {
  const fay = await signIn(stage.browser, one(), 'Fay');
  const gus = await signIn(stage.browser, two(), 'Gus');
  await fay.say('Photo incoming');
  await see(messageText(gus.page, 'Photo incoming'));
  const photo = gus.page.locator('img.avatar[src^="/avatars/"]');
  expect(await photo.count()).toBe(0);

  await fay.page.locator('#avatar-input').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a photo') });
  await see(fay.page.locator('#avatar-error').getByText('The photo must be a PNG, JPEG, GIF or WebP image'));

  await fay.page.locator('#avatar-input').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: pngOf(96, 96, [240, 140, 40]) });
  await noLonger(fay.page.locator('#avatar-error').getByText(/PNG/));
  // In the presence list and on Fay's message, served by Gus's replica from the shared volume.
  await see(gus.page.locator('#presence-list img.avatar[src^="/avatars/"]'));
  await see(gus.page.locator('#message-list img.avatar[src^="/avatars/"]'));
  const served = await gus.page.request.get((await photo.first().getAttribute('src'))!);
  expect(served.headers()['content-type']).toBe('image/webp'); // every photo is re-encoded
  await fay.close();
  await gus.close();
});

test('history is there after a reload, and older messages load on demand', async () => {
  const hal = await signIn(stage.browser, one(), 'Hal');
  await hal.page.getByPlaceholder('New room').fill('history');
  await hal.page.getByRole('button', { name: 'Create' }).click();
  await see(hal.page.locator('#room-name-heading').getByText('history', { exact: true }));

  // 60 earlier messages, sent by a script through the real socket API of the other replica.
  const ivy = await signInApi(two().url, 'Ivy');
  const socket = await connect(two().url, ivy.cookie);
  const room = expectOk(await request(socket, 'room:list')).rooms.find((r) => r.name === 'history')!;
  expectOk(await request(socket, 'room:join', { roomId: room.id }));
  for (let i = 1; i <= 60; i++) expectOk(await request(socket, 'message:send', { roomId: room.id, text: `Old news #${i}` }));
  socket.close();
  await see(messageText(hal.page, 'Old news #60'));

  await hal.page.reload();
  await see(hal.page.locator('#room-name-heading').getByText('history', { exact: true })); // the room is remembered
  await see(messageText(hal.page, 'Old news #60'));
  expect(await hal.messages()).toHaveLength(50);
  await noLonger(messageText(hal.page, 'Old news #10'));

  const scroller = hal.page.locator('#messages');
  await scroller.evaluate((el) => (el.scrollTop = 0));
  await hal.page.getByRole('button', { name: 'Load older messages' }).click();
  await see(messageText(hal.page, 'Old news #1'));
  expect(await hal.messages()).toEqual(Array.from({ length: 60 }, (_, i) => `Old news #${i + 1}`));
  // The page kept the message being read in view instead of jumping to the oldest one.
  expect(await scroller.evaluate((el) => el.scrollTop)).toBeGreaterThan(0);
  await noLonger(hal.page.getByRole('button', { name: 'Load older messages' }));
  await hal.close();
});

test('rooms: one creates a room, the other sees it live, gets an unread count and switches', async () => {
  const jo = await signIn(stage.browser, one(), 'Jo');
  const kim = await signIn(stage.browser, two(), 'Kim');
  await jo.page.getByPlaceholder('New room').fill('bad <room>');
  await jo.page.getByRole('button', { name: 'Create' }).click();
  await see(jo.page.locator('#room-error').getByText('A room name may only contain letters, digits, spaces and . _ -'));

  await jo.page.getByPlaceholder('New room').fill('release-day');
  await jo.page.getByRole('button', { name: 'Create' }).click();
  await see(jo.page.locator('#room-name-heading').getByText('release-day', { exact: true }));
  const kimsLink = kim.page.locator('#room-list button', { hasText: 'release-day' });
  await see(kimsLink);
  // Counts are kept for rooms a person has opened (their read position is on the server).
  await kimsLink.click();
  await see(kim.page.locator('#room-name-heading').getByText('release-day', { exact: true }));
  await kim.page.locator('#room-list button', { hasText: 'general' }).click();
  await see(kim.page.locator('#room-name-heading').getByText('general', { exact: true }));

  await jo.say('Ship it?');
  await jo.say('Everything is green');
  await see(kimsLink.locator('.unread-badge').getByText('2', { exact: true }));
  await screenshot(kim.page, 'chat-unread');
  // The count survives a reload: the room's head and Kim's read position both come from the server.
  await kim.page.reload();
  await see(kimsLink.locator('.unread-badge').getByText('2', { exact: true }));

  await kimsLink.click();
  await see(messageText(kim.page, 'Ship it?'));
  await noLonger(kimsLink.locator('.unread-badge'));
  await noLonger(messageText(kim.page, 'Loud and clear!')); // general's messages stay in general
  await kim.say('Shipping');
  await see(messageText(jo.page, 'Shipping'));

  await kim.page.locator('#room-list button', { hasText: 'general' }).click();
  await see(kim.page.locator('#room-name-heading').getByText('general', { exact: true }));
  await noLonger(messageText(kim.page, 'Shipping'));
  await jo.close();
  await kim.close();
});

test('on a phone the rooms and people are behind the menu button', async () => {
  const lea = await signIn(stage.browser, one(), 'Lea', { width: 390, height: 780 });
  const sidebar = lea.page.locator('#sidebar');
  await noLonger(sidebar);
  await lea.say('Hello from my phone');
  await screenshot(lea.page, 'chat-phone');
  await lea.page.getByRole('button', { name: 'Rooms and people' }).click();
  await see(sidebar.getByText('Lea', { exact: true }).first());
  await screenshot(lea.page, 'chat-phone-menu');
  await lea.page.keyboard.press('Escape');
  await noLonger(sidebar);
  await lea.close();
});

test('the message box shows the 2000-character limit and will not send past it', async () => {
  const max = await signIn(stage.browser, one(), 'Max');
  const box = max.page.getByLabel('Message', { exact: true });
  await box.fill('a'.repeat(2001));
  await see(max.page.getByText('2001 / 2000: 1 too many'));
  expect(await max.page.getByRole('button', { name: 'Send' }).isDisabled()).toBe(true);
  await box.press('Backspace');
  await see(max.page.getByText('2000 / 2000'));
  await box.press('Enter');
  await see(messageText(max.page, 'a'.repeat(2000)));
  await max.close();
});

test('signing out in one tab signs out every tab of that browser', async () => {
  const ned = await signIn(stage.browser, one(), 'Ned');
  const secondTab = await ned.context.newPage();
  await secondTab.goto('/');
  await see(secondTab.locator('#connection[data-state="connected"]'));
  await ned.page.getByRole('button', { name: 'Sign out' }).click();
  await see(ned.page.getByRole('button', { name: 'Join the chat' }));
  await see(secondTab.getByRole('button', { name: 'Join the chat' }));
  await ned.close();
});
