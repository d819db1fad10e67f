// An option given with a wrong value or in a wrong combination: the message names the flag and what it takes.
// The command line prints it as one line; a library caller gets it as any other error.
export class OptionError extends Error {
  override name = 'OptionError';
}
