// What escapes every handler while a test runs (an unhandled rejection, an uncaught exception):
// in production either would end the process. start() listens, stop() stops listening.
export function escapeWatch() {
  const escaped: unknown[] = [];
  const onEscape = (error: unknown) => escaped.push(error);
  return {
    escaped,
    start: () => {
      process.on('unhandledRejection', onEscape);
      process.on('uncaughtException', onEscape);
    },
    stop: () => {
      process.off('unhandledRejection', onEscape);
      process.off('uncaughtException', onEscape);
    },
  };
}
