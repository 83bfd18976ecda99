// npm run create-user -- --login KALLE --name "Kalle Anka" --role agent --password "long secret"
// Optional: --email, --initials, --language sv|en. Without --password one is generated and printed
// once. Uses DATABASE_URL, else the embedded PostgreSQL in DATA_DIR (the app's, while it runs).
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../src/config.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { openDatabase } from '../src/db/open.ts';
import { errorMessage } from '../src/error-message.ts';
import { FormError } from '../src/forms/form.ts';
import { translator } from '../src/i18n/i18n.ts';
import { generatePassword } from '../src/users/password.ts';
import { createUser, userSchema } from '../src/users/users.ts';

const usage =
  'usage: npm run create-user -- --login LOGIN --name "Full Name" --role admin|agent [--password PASSWORD]\n' +
  '       [--email ADDRESS] [--initials ABC] [--language sv|en]';

class UsageError extends Error {}

const parseOptions = () =>
  parseArgs({
    options: {
      login: { type: 'string' },
      name: { type: 'string' },
      role: { type: 'string' },
      password: { type: 'string' },
      email: { type: 'string' },
      initials: { type: 'string' },
      language: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });

function readArgs() {
  let values: ReturnType<typeof parseOptions>['values'];
  try {
    ({ values } = parseOptions());
  } catch (error) {
    throw new UsageError(errorMessage(error));
  }
  if (values.help) throw new UsageError('');
  const t = translator('en');
  const parsed = userSchema.safeParse({
    login: values.login ?? '',
    name: values.name ?? '',
    role: values.role,
    email: values.email,
    initials: values.initials,
    language: values.language,
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  --${String(i.path[0])}: ${t(i.message)}`);
    throw new UsageError(problems.join('\n'));
  }
  return { input: parsed.data, password: values.password };
}

async function main(): Promise<void> {
  const { input, password } = readArgs();
  const config = loadConfig();
  const say = (msg: string) => console.log(`[create-user] ${msg}`);
  const database = await openDatabase(config, say, 2);
  const { db } = database;
  try {
    // A fresh database has no users table yet; migrating first makes this the only step needed.
    const applied = await migrateToLatest(db);
    if (applied.length) say(`migrations applied: ${applied.join(', ')}`);
    const chosen = password ?? generatePassword();
    const user = await createUser(db, input, chosen);
    say(`created ${user.role} ${user.login} (${user.name})`);
    if (!password) say(`password: ${chosen}`);
  } finally {
    await database.close();
  }
}

main().catch((error) => {
  if (error instanceof UsageError) {
    if (error.message) console.error(error.message);
    console.error(usage);
    process.exit(2);
  }
  if (error instanceof FormError) {
    const t = translator('en');
    for (const [field, key] of Object.entries(error.fields)) console.error(`  --${field}: ${t(key)}`);
  } else if (error instanceof ConfigError) console.error(error.message);
  else console.error(`[create-user] failed: ${errorMessage(error)}`);
  process.exit(1);
});
