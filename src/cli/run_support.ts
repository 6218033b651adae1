/** Process handling the long-running commands share: Ctrl-C and SIGTERM. */

/** First Ctrl-C (or SIGTERM): finish the current step, flush, exit resumable. Second: leave at once. */
export function installInterrupt(quiet: boolean): { stopped: () => boolean; dispose: () => void } {
  let stopped = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopped) process.exit(130);
    stopped = true;
    if (!quiet) process.stderr.write(`\n${sig}: finishing the current step and saving; press Ctrl-C again to quit at once\n`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    stopped: () => stopped,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
