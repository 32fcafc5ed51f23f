// A bench's helper process (a server), so what it costs in CPU is not charged to the process
// being measured: the parent forks it and asks it questions over IPC; the child answers.
import { fork } from 'node:child_process';

/** Rejects if `promise` has not settled within `ms` (every wait of a bench is bounded). */
function bounded(promise, ms, what) {
  let timer;
  const limit = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`bench: timed out waiting for ${what}`)), ms)));
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/**
 * Forks `script` with `args` and resolves once it has said it is ready (its first message, e.g.
 * `{ port }`). `ask(type)` resolves to the child's answer; `close()` asks it to close and waits
 * for it to exit (killing it after `waitLimitMs`). Options: `execArgv` for the child's node, and
 * `waitLimitMs` (default 30 s) bounding the wait for the ready message and for each answer.
 */
export async function forkChild(script, args, { execArgv = [], waitLimitMs = 30_000 } = {}) {
  const child = fork(script, args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await bounded(
    new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', code => reject(new Error(`bench child ${script} exited with ${code}`)));
      child.once('message', resolve);
    }),
    waitLimitMs,
    `${script} to start`,
  );
  let asked = 0;
  return {
    ready,
    ask(type) {
      const id = ++asked;
      const answer = new Promise(resolve => {
        const onMessage = message => {
          if (message.id !== id) return;
          child.off('message', onMessage);
          resolve(message.answer);
        };
        child.on('message', onMessage);
        child.send({ type, id });
      });
      return bounded(answer, waitLimitMs, `the child's ${type}`);
    },
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise(resolve => child.once('exit', resolve));
      child.send({ type: 'close' });
      const timer = setTimeout(() => child.kill('SIGKILL'), waitLimitMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * The child's side: says `ready` to the parent, then answers each question with `answers[type]()`
 * (which may be async). A `close` question, or a parent that goes away, runs `close()` (if given),
 * then the child exits.
 */
export function answerParent(ready, answers, close = async () => {}) {
  const exit = async () => {
    await close();
    process.exit(0);
  };
  process.on('message', async message => {
    if (message.type === 'close') return exit();
    const answer = answers[message.type];
    if (answer) process.send({ id: message.id, answer: await answer() });
  });
  process.on('disconnect', exit);
  process.send(ready);
}
