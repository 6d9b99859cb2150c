import { connectBroker } from './adapters/broker';
import { ConfigError, loadConfig, type Config } from './config';
import { createLogger, type Logger } from './lib/logger';
import { redactText } from './lib/redact';
import { createChatServer } from './server';
import { connectStore } from './store';

/**
 * The composition root: config → store → broker adapter → HTTP app and
 * realtime handlers → listen, and a graceful stop on SIGTERM/SIGINT.
 */
async function main() {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(redactText(error.message));
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const logger = createLogger(config);
  for (const notice of config.notices) logger.warn(redactText(notice));
  // A stray rejection inside a library (a broker client mid-reconnect) must not drop every
  // connection of this replica: log it loudly instead of crashing.
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));

  const store = await connectStore(config, logger);
  const broker = await connectBroker(config, logger).catch(async (error) => {
    await store.close();
    throw error;
  });
  const server = await createChatServer({ config, store, broker, logger });
  const port = await server.listen();
  const metricsPort = await server.listenMetrics();

  logger.info(
    { port, metricsPort, store: store.kind, broker: broker.kind, brokerTarget: broker.target, storageVolume: config.storageVolume },
    `chat listening on http://localhost:${port} (instance ${config.instanceName}, store ${store.kind}, broker ${broker.kind})`,
  );
  logBootHints(config, logger);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal} received: closing connections`);
    const forced = setTimeout(() => {
      logger.error('shutdown took longer than 10 s, exiting anyway');
      process.exit(1);
    }, 10_000);
    forced.unref();
    await server.close();
    await broker.close();
    await store.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

function logBootHints(config: Config, logger: Logger) {
  if (!config.mongo) {
    logger.warn(
      'store: in memory, nothing survives a restart. Set MONGO_URL=mongodb://host:27017/chat (or DB_HOST) to keep data in MongoDB',
    );
  }
  if (config.broker.kind === 'none') {
    logger.info(
      'broker: none, this process is a single node. Set REDIS_URL, RABBIT_URL or NATS_URL to run several replicas as one chat',
    );
  }
}

main().catch((error: unknown) => {
  // Error messages may quote a broker or database address with its credentials.
  console.error(`Startup failed: ${redactText(error instanceof Error ? error.message : String(error))}`);
  process.exit(1);
});
