'use strict';
// Runs an async job every `ms`, never two at once: the next run is scheduled when the current
// one settles, so a slow mesh slows the job down instead of piling up requests. The job's
// errors are its own business (it logs them); one thrown here is passed to onError.

function every(ms, job, onError = () => {}) {
  let timer = null;
  let stopped = false;
  const run = async () => {
    try {
      await job();
    } catch (err) {
      onError(err);
    }
    if (!stopped) timer = setTimeout(run, ms);
  };
  timer = setTimeout(run, 0);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

module.exports = { every };
