import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runInNewContext } from 'node:vm';

/**
 * mongo-init/create-app-user.js runs under mongosh in the mongo image, which
 * this machine does not have: here it runs against a stand-in for mongosh's
 * `db` that keeps users the way MongoDB does, one set per database.
 */
const script = readFileSync(path.join(__dirname, '..', 'mongo-init', 'create-app-user.js'), 'utf8');

type User = { user: string; pwd: string; roles: { role: string; db: string }[] };

function fakeMongosh() {
  const users = new Map<string, Map<string, User>>();
  const printed: string[] = [];
  const database = (name: string) => {
    const own = users.get(name) ?? new Map<string, User>();
    users.set(name, own);
    return {
      getUser: (user: string) => own.get(user) ?? null,
      createUser: (spec: User) => {
        if (own.has(spec.user)) throw new Error(`User "${spec.user}@${name}" already exists`);
        own.set(spec.user, spec);
      },
      updateUser: (user: string, update: Omit<User, 'user'>) => own.set(user, { user, ...update }),
    };
  };
  const run = (env: Record<string, string>) =>
    runInNewContext(script, { db: { getSiblingDB: database }, process: { env }, print: (line: string) => printed.push(line) });
  return { run, users, printed };
}

const env = {
  MONGO_DB_APP_USERNAME: 'chat',
  MONGO_DB_APP_PASSWORD: `it's "quoted" $HOME \`x\` ; rm -rf / #`,
  MONGO_DB_APP_DATABASE: 'chatdb',
};

test('creates the app user with readWrite on the app database, the password exactly as given', () => {
  const mongosh = fakeMongosh();
  mongosh.run(env);
  expect(mongosh.users.get('chatdb')?.get('chat')).toEqual({
    user: 'chat',
    pwd: env.MONGO_DB_APP_PASSWORD,
    roles: [{ role: 'readWrite', db: 'chatdb' }],
  });
  expect(mongosh.printed).toEqual(['mongo-init: created user "chat" with readWrite on "chatdb"']);
});

test('running it again updates the existing user instead of failing', () => {
  const mongosh = fakeMongosh();
  mongosh.run(env);
  mongosh.run({ ...env, MONGO_DB_APP_PASSWORD: 'new password' });
  expect(mongosh.users.get('chatdb')?.get('chat')?.pwd).toBe('new password');
  expect(mongosh.printed[1]).toBe('mongo-init: user "chat" exists in "chatdb": password and roles updated');
});

test('refuses to run with a variable missing, naming it', () => {
  const mongosh = fakeMongosh();
  expect(() => mongosh.run({ ...env, MONGO_DB_APP_PASSWORD: '' })).toThrow(
    "mongo-init: set MONGO_DB_APP_PASSWORD to create the chat's database user",
  );
  expect(mongosh.users.size).toBe(0);
});
