// Creates the chat's database user, with readWrite on the chat's database only.
//
// The official mongo image runs this with mongosh, as the root user, the first
// time it starts on an empty volume (compose files mount this folder at
// /docker-entrypoint-initdb.d). Values come from process.env, never through a
// shell, so passwords with quotes, $ or spaces need no escaping. Running it
// again (mongosh -u root ... create-app-user.js) is safe: an existing user gets
// the current password and roles.
const env = process.env;
const missing = ['MONGO_DB_APP_USERNAME', 'MONGO_DB_APP_PASSWORD', 'MONGO_DB_APP_DATABASE'].filter((name) => !env[name]);
if (missing.length > 0) {
  throw new Error(`mongo-init: set ${missing.join(', ')} to create the chat's database user`);
}

const user = env.MONGO_DB_APP_USERNAME;
const database = env.MONGO_DB_APP_DATABASE;
// The user lives in the app's database, the default authSource of mongodb://user:pw@host/<database>.
const appDb = db.getSiblingDB(database);
const roles = [{ role: 'readWrite', db: database }];

if (appDb.getUser(user)) {
  appDb.updateUser(user, { pwd: env.MONGO_DB_APP_PASSWORD, roles });
  print(`mongo-init: user "${user}" exists in "${database}": password and roles updated`);
} else {
  appDb.createUser({ user, pwd: env.MONGO_DB_APP_PASSWORD, roles });
  print(`mongo-init: created user "${user}" with readWrite on "${database}"`);
}
