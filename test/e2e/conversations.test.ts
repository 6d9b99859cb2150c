import type { Page } from 'playwright-core';
import {
  messageRow,
  messageText,
  noLonger,
  recordNotifications,
  screenshot,
  see,
  setTabHidden,
  shownNotifications,
  sidebarEntry,
  signIn,
  type Person,
  useTwoReplicas,
} from './helpers';

// Direct messages, edits and deletes, mentions, reactions, read positions and links, as two
// people on two replicas (joined by Redis, one FerretDB) see them in real Chromium.
jest.setTimeout(120_000);

const stage = useTwoReplicas();
const { one, two } = stage;

const heading = (page: Page) => page.locator('#room-name-heading');

async function createRoom(person: Person, name: string): Promise<void> {
  await person.page.getByPlaceholder('New room').fill(name);
  await person.page.getByRole('button', { name: 'Create' }).click();
  await see(heading(person.page).getByText(name, { exact: true }));
}

async function openEntry(person: Person, name: string): Promise<void> {
  await sidebarEntry(person.page, name).click();
  await see(heading(person.page).getByText(name, { exact: true }));
}

/** The unread and mention badges of a sidebar entry, as the person reads them ('' when none). */
async function badges(page: Page, name: string): Promise<{ unread: string; mentions: string }> {
  const entry = sidebarEntry(page, name);
  const text = async (selector: string) => ((await entry.locator(selector).count()) > 0 ? ((await entry.locator(selector).textContent()) ?? '') : '');
  return { unread: await text('.unread-badge'), mentions: await text('.mention-badge') };
}

async function seeBadges(page: Page, name: string, expected: { unread: string; mentions: string }): Promise<void> {
  const entry = sidebarEntry(page, name);
  await see(entry);
  const unread = entry.locator('.unread-badge');
  const mentions = entry.locator('.mention-badge');
  if (expected.unread) await see(unread.getByText(expected.unread, { exact: true }));
  else await noLonger(unread);
  if (expected.mentions) await see(mentions.getByText(expected.mentions, { exact: true }));
  else await noLonger(mentions);
}

// First, while the room list is short.
test('a rich conversation, as a screenshot for the README', async () => {
  const maya = await signIn(stage.browser, one(), 'Maya');
  const noah = await signIn(stage.browser, two(), 'Noah');
  const omar = await signIn(stage.browser, two(), 'Omar');
  await createRoom(maya, 'launch');
  await openEntry(noah, 'launch');
  await openEntry(omar, 'launch');

  await noah.say('Release notes are up: https://example.com/releases/2.0');
  await maya.say('Great work @Noah, reading them now');
  await omar.say('Staging is green, pushing to production at 15:00');
  await omar.say('Wrong channel, sorry');
  await maya.say('@Omar can you double-check the migration first?');

  const omarsFirst = messageRow(omar.page, 'Staging is green, pushing to production at 15:00');
  await omarsFirst.hover();
  await omarsFirst.getByRole('button', { name: 'Edit' }).click();
  await omar.page.getByLabel('Edit message').fill('Staging is green, pushing to production at 16:00');
  await omar.page.getByLabel('Edit message').press('Enter');
  // The edited row grows by its "(edited)": hover the next one once it has.
  await see(messageRow(omar.page, 'Staging is green, pushing to production at 16:00').locator('.message-edited'));
  const wrong = messageRow(omar.page, 'Wrong channel, sorry');
  await wrong.hover();
  await wrong.getByRole('button', { name: 'Delete' }).click();
  await omar.page.getByRole('group', { name: 'Delete this message?' }).getByRole('button', { name: 'Delete' }).click();

  const react = async (person: Person, text: string, emoji: string) => {
    const row = messageRow(person.page, text);
    await see(row);
    await row.hover();
    await row.getByRole('button', { name: 'Add a reaction' }).click();
    await row.getByRole('button', { name: `React with ${emoji}` }).click();
    await see(row.locator(`.reaction[data-emoji="${emoji}"][aria-pressed="true"]`));
  };
  await react(maya, 'Release notes are up: https://example.com/releases/2.0', '🎉');
  await react(omar, 'Release notes are up: https://example.com/releases/2.0', '🎉');
  await react(omar, 'Release notes are up: https://example.com/releases/2.0', '❤️');
  await react(noah, '@Omar can you double-check the migration first?', '👍');

  // Direct conversations in Noah's sidebar, one with unread messages.
  await omar.page.getByRole('button', { name: 'Message Noah' }).click();
  await see(heading(omar.page).getByText('Noah', { exact: true }));
  await omar.say('Lunch after the launch?');
  await maya.page.getByRole('button', { name: 'Message Noah' }).click();
  await see(heading(maya.page).getByText('Noah', { exact: true }));
  await maya.say('Thanks for the notes!');
  // Both back in the room, beside Noah.
  await openEntry(omar, 'launch');
  await openEntry(maya, 'launch');
  await see(noah.page.locator('#presence-list').getByText('Omar', { exact: true }));
  await see(noah.page.locator('#presence-list').getByText('Maya', { exact: true }));

  await see(messageText(noah.page, 'Staging is green, pushing to production at 16:00'));
  await see(noah.page.locator('#message-list .message-deleted'));
  await see(messageRow(noah.page, '@Omar can you double-check the migration first?').locator('.reaction[aria-pressed="true"]'));
  await see(sidebarEntry(noah.page, 'Omar').locator('.unread-badge'));
  await see(sidebarEntry(noah.page, 'Maya').locator('.unread-badge'));
  await noah.page.mouse.move(0, 0);
  // The README's docs/screenshot-conversations.png is a copy of it.
  await screenshot(noah.page, 'conversations');
  await maya.close();
  await noah.close();
  await omar.close();
});

describe('direct messages', () => {
  test('one starts a conversation from the people list; the other gets it with an unread count; both write and see typing', async () => {
    const ada = await signIn(stage.browser, one(), 'Ada');
    const ben = await signIn(stage.browser, two(), 'Ben');
    await see(ben.page.locator('#dm-empty'));

    // Nobody messages themselves: only the others have the button.
    await see(ada.page.getByRole('button', { name: 'Message Ben' }));
    expect(await ada.page.getByRole('button', { name: 'Message Ada' }).count()).toBe(0);
    await ada.page.getByRole('button', { name: 'Message Ben' }).click();
    await see(heading(ada.page).getByText('Ben', { exact: true }));
    await see(ada.page.locator('#room-kind').getByText('@'));
    await see(ada.page.locator('#dm-list .room-link[aria-current="true"]').getByText('Ben', { exact: true }));
    expect(await ada.page.getByLabel('Message', { exact: true }).getAttribute('placeholder')).toBe('Message Ben');

    // Ben hears of it live, on the other replica.
    await see(sidebarEntry(ben.page, 'Ada'));
    await noLonger(ben.page.locator('#dm-empty'));
    await ada.say('Hi Ben, just between us');
    await seeBadges(ben.page, 'Ada', { unread: '1', mentions: '' });

    await openEntry(ben, 'Ada');
    await see(messageText(ben.page, 'Hi Ben, just between us'));
    await noLonger(sidebarEntry(ben.page, 'Ada').locator('.unread-badge'));
    const box = ben.page.getByLabel('Message', { exact: true });
    await box.pressSequentially('Sure thing');
    await see(ada.page.locator('#typing').getByText('Ben is typing…'));
    await box.press('Enter');
    await see(messageText(ada.page, 'Sure thing'));
    await noLonger(ada.page.locator('#typing').getByText('Ben is typing…'));
    expect(await ada.messages()).toEqual(['Hi Ben, just between us', 'Sure thing']);

    // The conversation is the server's: after a reload it is listed and opened again.
    await ben.page.reload();
    await see(heading(ben.page).getByText('Ada', { exact: true }));
    await see(messageText(ben.page, 'Sure thing'));
    await see(sidebarEntry(ben.page, 'Ada'));
    // And it stays out of the public rooms.
    await openEntry(ben, 'general');
    await noLonger(messageText(ben.page, 'Sure thing'));
    await ada.close();
    await ben.close();
  });
});

describe('edits and deletes', () => {
  test('the author edits and deletes; the other sees it live and the same after a reload', async () => {
    const cleo = await signIn(stage.browser, one(), 'Cleo');
    const dan = await signIn(stage.browser, two(), 'Dan');
    await createRoom(cleo, 'edits');
    await openEntry(dan, 'edits');
    await cleo.say('Deploy at 5pm');
    await cleo.say('Temporary note');
    await cleo.say('Keep this one');
    await see(messageText(dan.page, 'Keep this one'));

    // Edit: Enter saves.
    const deploy = messageRow(cleo.page, 'Deploy at 5pm');
    await deploy.hover();
    await deploy.getByRole('button', { name: 'Edit' }).click();
    const editor = cleo.page.getByLabel('Edit message');
    await editor.fill('Deploy at 6pm');
    await editor.press('Enter');
    await see(messageText(cleo.page, 'Deploy at 6pm'));
    await see(messageText(dan.page, 'Deploy at 6pm'));
    await see(messageRow(dan.page, 'Deploy at 6pm').locator('.message-edited').getByText('(edited)'));
    await noLonger(messageText(dan.page, 'Deploy at 5pm'));

    // Escape cancels an edit.
    const keep = messageRow(cleo.page, 'Keep this one');
    await keep.hover();
    await keep.getByRole('button', { name: 'Edit' }).click();
    await cleo.page.getByLabel('Edit message').fill('Not this');
    await cleo.page.getByLabel('Edit message').press('Escape');
    await noLonger(cleo.page.getByLabel('Edit message'));
    await see(messageText(cleo.page, 'Keep this one'));
    expect(await messageRow(cleo.page, 'Keep this one').locator('.message-edited').count()).toBe(0);

    // Delete asks first.
    const note = messageRow(cleo.page, 'Temporary note');
    await note.hover();
    await note.getByRole('button', { name: 'Delete' }).click();
    await see(cleo.page.getByText('Delete this message for everyone?'));
    await cleo.page.getByRole('group', { name: 'Delete this message?' }).getByRole('button', { name: 'Delete' }).click();
    await noLonger(messageText(dan.page, 'Temporary note'));
    await see(dan.page.locator('#message-list .message.deleted .message-deleted').getByText('message deleted'));
    await noLonger(messageText(cleo.page, 'Temporary note'));

    // Only the author has the actions.
    await messageRow(dan.page, 'Keep this one').hover();
    expect(await messageRow(dan.page, 'Keep this one').getByRole('button', { name: 'Edit' }).count()).toBe(0);

    // The same after a reload, on either replica.
    await dan.page.reload();
    await see(messageText(dan.page, 'Deploy at 6pm'));
    await see(messageRow(dan.page, 'Deploy at 6pm').locator('.message-edited'));
    await see(dan.page.locator('#message-list .message-deleted'));
    expect(await dan.messages()).toEqual(['Deploy at 6pm', 'Keep this one']);
    await cleo.close();
    await dan.close();
  });
});

describe('mentions', () => {
  test('@ suggests the room’s people as they come and go; the mention is highlighted, counted in another room and notified in a hidden tab', async () => {
    const eve = await signIn(stage.browser, one(), 'Eve');
    const finn = await signIn(stage.browser, two(), 'Finn', undefined, recordNotifications);
    await createRoom(finn, 'side');
    await openEntry(finn, 'general');
    await see(eve.page.locator('#presence-list').getByText('Finn', { exact: true }));

    // The autocomplete: people in the room, yourself left out; Escape closes, arrows and Enter pick.
    const box = eve.page.getByLabel('Message', { exact: true });
    const suggestions = eve.page.getByRole('listbox', { name: 'People to mention' });
    await box.pressSequentially('Look @');
    await see(suggestions.getByRole('option', { name: 'Finn' }));
    expect(await suggestions.getByRole('option', { name: 'Eve' }).count()).toBe(0);
    // The open list follows who comes and goes.
    const gwen = await signIn(stage.browser, two(), 'Gwen');
    await see(suggestions.getByRole('option', { name: 'Gwen' }));
    await gwen.close();
    await noLonger(suggestions.getByRole('option', { name: 'Gwen' }));
    await see(suggestions.getByRole('option', { name: 'Finn' }));
    await box.press('Escape');
    await noLonger(suggestions);
    await box.fill('');
    await box.pressSequentially('Look here @fi');
    await see(suggestions.getByRole('option', { name: 'Finn', selected: true }));
    await box.press('ArrowDown'); // one match: stays on Finn
    await box.press('Enter');
    await noLonger(suggestions);
    expect(await box.inputValue()).toBe('Look here @Finn ');
    await box.pressSequentially('please');

    // Finn goes to another room; the mention reaches him there.
    await openEntry(finn, 'side');
    await box.press('Enter');
    await see(messageText(eve.page, 'Look here @Finn please'));
    await see(messageRow(eve.page, 'Look here @Finn please').locator('.mention:not(.mention-me)').getByText('@Finn'));
    await seeBadges(finn.page, 'general', { unread: '1', mentions: '@1' });

    // Hidden, Finn gets a notification; nothing when he is looking.
    expect(await shownNotifications(finn.page)).toEqual([]);
    await setTabHidden(finn.page, true);
    await eve.say('@finn are you there?');
    await seeBadges(finn.page, 'general', { unread: '2', mentions: '@2' });
    await finn.page.waitForFunction('window.shownNotifications.length > 0');
    expect(await shownNotifications(finn.page)).toEqual([{ title: 'Eve mentioned you in #general', body: '@finn are you there?' }]);
    await setTabHidden(finn.page, false);

    // In the room: his own mentions stand out, and the messages are marked.
    await openEntry(finn, 'general');
    await see(messageRow(finn.page, 'Look here @Finn please').locator('.mention-me').getByText('@Finn'));
    await see(finn.page.locator('#message-list .message.mentions-me').filter({ hasText: '@finn are you there?' }));
    await seeBadges(finn.page, 'general', { unread: '', mentions: '' });
    // Eve never allowed notifications: she is offered them, and nothing breaks meanwhile.
    await see(eve.page.getByRole('button', { name: 'Enable notifications' }));
    await noLonger(finn.page.getByRole('button', { name: 'Enable notifications' }));
    await eve.close();
    await finn.close();
  });
});

describe('reactions', () => {
  test('a reaction toggled by one shows with its count and highlight for the other', async () => {
    const gia = await signIn(stage.browser, one(), 'Gia');
    const hal = await signIn(stage.browser, two(), 'Hal');
    await createRoom(gia, 'reactions');
    await openEntry(hal, 'reactions');
    await gia.say('Shipped the release');
    await see(messageText(hal.page, 'Shipped the release'));

    const halsRow = messageRow(hal.page, 'Shipped the release');
    await halsRow.hover();
    await halsRow.getByRole('button', { name: 'Add a reaction' }).click();
    await halsRow.getByRole('button', { name: 'React with 🎉' }).click();
    const halsChip = halsRow.locator('.reaction[data-emoji="🎉"]');
    await see(halsChip.and(hal.page.locator('[aria-pressed="true"]')));

    const giasRow = messageRow(gia.page, 'Shipped the release');
    const giasChip = giasRow.locator('.reaction[data-emoji="🎉"]');
    await see(giasChip.and(gia.page.locator('[aria-pressed="false"]')).getByText('1', { exact: true }));
    expect(await giasChip.getAttribute('title')).toBe('Hal');

    // Gia adds hers by clicking the chip: 2, highlighted for her, named for Hal.
    await giasChip.click();
    await see(giasChip.and(gia.page.locator('[aria-pressed="true"]')).getByText('2', { exact: true }));
    await see(halsChip.getByText('2', { exact: true }));
    expect(await halsChip.getAttribute('title')).toMatch(/^(Hal and Gia|Gia and Hal)$/);

    // Hal takes his back.
    await halsChip.click();
    await see(halsChip.and(hal.page.locator('[aria-pressed="false"]')).getByText('1', { exact: true }));
    await see(giasChip.getByText('1', { exact: true }));
    expect(await giasChip.getAttribute('title')).toBe('Gia');

    // The same after a reload.
    await hal.page.reload();
    await see(messageRow(hal.page, 'Shipped the release').locator('.reaction[data-emoji="🎉"][aria-pressed="false"]').getByText('1', { exact: true }));
    await gia.close();
    await hal.close();
  });
});

describe('read positions', () => {
  test('unread and mention counts are the same after a reload and in a second tab, and cleared in both when read in one', async () => {
    const ivy = await signIn(stage.browser, one(), 'Ivy');
    const jon = await signIn(stage.browser, two(), 'Jon');
    await createRoom(ivy, 'news');
    // Jon opens the empty room once (from then on its messages count for him), then goes back.
    await openEntry(jon, 'news');
    await openEntry(jon, 'general');
    const secondTab = await jon.context.newPage();
    await secondTab.goto('/');
    await see(heading(secondTab).getByText('general', { exact: true }));

    await ivy.say('First news');
    await ivy.say('Second news, @Jon');
    await ivy.say('Third news');
    for (const page of [jon.page, secondTab]) await seeBadges(page, 'news', { unread: '3', mentions: '@1' });

    await jon.page.reload();
    await seeBadges(jon.page, 'news', { unread: '3', mentions: '@1' });
    expect(await badges(secondTab, 'news')).toEqual(await badges(jon.page, 'news'));

    // Read in one tab: gone in both, and after a reload.
    await openEntry(jon, 'news');
    await see(messageText(jon.page, 'Third news'));
    await seeBadges(secondTab, 'news', { unread: '', mentions: '' });
    await secondTab.reload();
    await see(sidebarEntry(secondTab, 'news'));
    await seeBadges(secondTab, 'news', { unread: '', mentions: '' });

    // A public room never opened counts nothing. (Heads go out in order: once general's shows, unvisited's came too.)
    await secondTab.close();
    await createRoom(ivy, 'unvisited');
    await ivy.say('Nobody reads this');
    await openEntry(ivy, 'general');
    await ivy.say('But this one, yes');
    await seeBadges(jon.page, 'general', { unread: '1', mentions: '' });
    expect(await badges(jon.page, 'unvisited')).toEqual({ unread: '', mentions: '' });
    await ivy.close();
    await jon.close();
  });
});

describe('links', () => {
  test('an http(s) URL is a link that opens apart; HTML and javascript: stay text', async () => {
    const kai = await signIn(stage.browser, one(), 'Kai');
    const lou = await signIn(stage.browser, two(), 'Lou');
    const text = 'Docs: https://example.com/docs?page=2 and <b>x</b> javascript:alert(1) <a href="https://evil.example">y</a>';
    await kai.say(text);
    await see(messageText(lou.page, text));
    const links = lou.page.locator('#message-list .message-text a');
    expect(await links.count()).toBe(2);
    const first = links.first();
    expect(await first.getAttribute('href')).toBe('https://example.com/docs?page=2');
    expect(await first.getAttribute('target')).toBe('_blank');
    expect(await first.getAttribute('rel')).toBe('noopener noreferrer nofollow');
    expect(await first.textContent()).toBe('https://example.com/docs?page=2');
    // The anchor typed as text is text; only the address inside it is a link.
    expect(await links.nth(1).getAttribute('href')).toBe('https://evil.example/');
    expect(await lou.page.locator('#message-list b, #message-list a[href^="javascript"]').count()).toBe(0);
    await kai.close();
    await lou.close();
  });
});
