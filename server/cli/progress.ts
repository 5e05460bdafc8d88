/**
 * Progress for the terminal: a spinner with the latest message on a TTY, plain lines otherwise
 * (so logs and CI output stay readable). Writes to stderr; stdout carries only results.
 */
const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']

export type Spinner = { update(message: string): void; stop(finalLine?: string): void }

export function createSpinner(stream: NodeJS.WriteStream = process.stderr): Spinner {
  if (!stream.isTTY) {
    let last = ''
    return {
      update(message) {
        if (message !== last) stream.write(`… ${message}\n`)
        last = message
      },
      stop(finalLine) {
        if (finalLine) stream.write(`${finalLine}\n`)
      },
    }
  }
  let message = ''
  let frame = 0
  const draw = () => stream.write(`\r\x1b[2K${FRAMES[frame++ % FRAMES.length]} ${message}`)
  const timer = setInterval(draw, 80)
  timer.unref()
  return {
    update(next) {
      message = next
      draw()
    },
    stop(finalLine) {
      clearInterval(timer)
      stream.write('\r\x1b[2K')
      if (finalLine) stream.write(`${finalLine}\n`)
    },
  }
}
