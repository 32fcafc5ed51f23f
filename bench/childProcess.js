// A bench's helper process (a server, a proxy), so what it costs in CPU is not charged to the
// process being measured: the parent forks it and asks it questions over IPC; the child answers.
import { fork } from 'node:child_process';

/**
 * Forks `script` with `args` and resolves once it has said it is ready (its first message, e.g.
 * `{ port }`). `ask(type)` resolves to the child's answer; `close()` asks it to close and waits
 * for it to exit (killing it after 5 s).
 */
export async function forkChild(script, args) {
  const child = fork(script, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', code => reject(new Error(`bench child ${script} exited with ${code}`)));
    child.once('message', resolve);
  });
  let asked = 0;
  return {
    ready,
    ask(type) {
      const id = ++asked;
      return new Promise(resolve => {
        const onMessage = message => {
          if (message.id !== id) return;
          child.off('message', onMessage);
          resolve(message.answer);
        };
        child.on('message', onMessage);
        child.send({ type, id });
      });
    },
    async close() {
      const exited = new Promise(resolve => child.once('exit', resolve));
      child.send({ type: 'close' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * The child's side: says `ready` to the parent, then answers each question with `answers[type]()`
 * (which may be async). A `close` question runs `close()`, then the child exits; so does a parent
 * that goes away.
 */
export function answerParent(ready, answers, close) {
  process.on('message', async message => {
    if (message.type === 'close') {
      await close();
      process.exit(0);
    }
    const answer = answers[message.type];
    if (answer) process.send({ id: message.id, answer: await answer() });
  });
  process.on('disconnect', () => process.exit(0));
  process.send(ready);
}
