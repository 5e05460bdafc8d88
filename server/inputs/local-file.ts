/**
 * Reads an edit input from the local disk, refusing anything that is not a plain file of bounded
 * size. The file is opened once and every check is made on the open handle, so a path swapped for
 * a symlink or a device between check and read changes nothing. O_NONBLOCK keeps a FIFO or a
 * device from hanging the open; the read stops one byte past the cap, so a file that grows (or a
 * /proc file that reports size 0) cannot make us read without bound.
 * Whether the bytes are an image is checked by the caller (key files and text are refused there).
 */
import { constants } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { ImagegenError } from '../errors.js'
import { formatMegabytes, refuseInput, type InputField } from './refusal.js'

const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0)
const CHUNK_BYTES = 1024 * 1024

export async function readLocalFile(field: InputField, path: string, maxBytes: number): Promise<Buffer> {
  const shown = JSON.stringify(path)
  let handle: FileHandle
  try {
    handle = await open(path, OPEN_FLAGS)
  } catch (error) {
    throw refuseInput(field, `cannot read ${shown}: ${describeOpenError(error)}.`, openErrorCode(error))
  }
  try {
    const info = await handle.stat()
    if (info.isDirectory()) throw refuseInput(field, `${shown} is a directory, not an image file.`, 'input_not_file')
    if (!info.isFile()) throw refuseInput(field, `${shown} is not a regular file (a device, pipe or socket); only image files are read.`, 'input_not_file')
    if (info.size > maxBytes) throw tooLarge(field, shown, maxBytes, info.size)
    // Read into one buffer of the size stat gave (one byte more, to notice a file that grew);
    // a file that reports less than it holds (/proc) grows the buffer, up to the cap.
    let buffer = Buffer.allocUnsafe(Math.min(info.size, maxBytes) + 1)
    let total = 0
    for (;;) {
      if (total === buffer.length) {
        if (total > maxBytes) throw tooLarge(field, shown, maxBytes)
        const grown = Buffer.allocUnsafe(Math.min(Math.max(buffer.length * 2, CHUNK_BYTES), maxBytes + 1))
        buffer.copy(grown, 0, 0, total)
        buffer = grown
      }
      const { bytesRead } = await handle.read(buffer, total, buffer.length - total, null)
      if (bytesRead === 0) break
      total += bytesRead
    }
    if (total > maxBytes) throw tooLarge(field, shown, maxBytes)
    return buffer.subarray(0, total)
  } catch (error) {
    if (error instanceof ImagegenError) throw error
    if ((error as NodeJS.ErrnoException).code === 'EISDIR') throw refuseInput(field, `${shown} is a directory, not an image file.`, 'input_not_file')
    if ((error as NodeJS.ErrnoException).code) throw refuseInput(field, `cannot read ${shown}: ${describeOpenError(error)}.`, 'input_unreadable')
    throw error
  } finally {
    await handle.close()
  }
}

/** `size` is known from stat; a file that grew while read (or a /proc file) has none. */
function tooLarge(field: InputField, shown: string, maxBytes: number, size?: number) {
  const what = size === undefined ? `${shown} is larger than ${formatMegabytes(maxBytes)}` : `${shown} is ${formatMegabytes(size)}`
  return refuseInput(field, `${what}; edit inputs may be at most ${formatMegabytes(maxBytes)} (BLOCKRUN_MAX_INPUT_MB).`, 'input_too_large')
}

function openErrorCode(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code
  return code === 'ENOENT' || code === 'ENOTDIR' ? 'input_not_found' : 'input_unreadable'
}

function describeOpenError(error: unknown): string {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return 'no such file'
    case 'EACCES':
    case 'EPERM':
      return 'permission denied'
    case 'EISDIR':
      return 'it is a directory'
    case 'ELOOP':
      return 'too many symbolic links'
    case 'ENAMETOOLONG':
      return 'the path is too long'
    default:
      return (error as NodeJS.ErrnoException).code ?? 'unknown error'
  }
}
