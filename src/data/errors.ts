// The one error type of the data and file-format layer. Its message is a single line that names the file
// and the problem, so the CLI can print `.message` alone, without a stack.
export class DataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataError';
  }
}
