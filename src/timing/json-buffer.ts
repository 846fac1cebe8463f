/** Bytes a buffer keeps between outputs: a header output's worth; larger ones are let go once read. */
const KEPT_CAPACITY = 64 * 1024;

/**
 * A JSON text written as bytes into one growing buffer and read back as one
 * string: how the timing tree writes its output. Appending to a string
 * instead makes a rope node (and often a small string) per piece, six or
 * more per timing context, that V8 then copies into a flat string when the
 * output is sliced into log lines; here the text is written once and copied
 * once, and nothing is left for the collector but the result.
 *
 * Names and values that are plain printable ASCII (nearly all of them) are
 * copied byte by byte; anything else goes through `JSON.stringify` and is
 * encoded as UTF-8.
 */
export class JsonBuffer {
  private bytes: Buffer = Buffer.allocUnsafeSlow(1024);
  private length = 0;
  /** Whether a byte outside ASCII was written: the text is then read back as UTF-8. */
  private utf8 = false;

  /** Empties the buffer (of what a write that threw left in it, say); returns it. */
  clear(): this {
    this.length = 0;
    this.utf8 = false;
    return this;
  }

  /** Where the text written so far ends, for `rewind`. */
  get mark(): number {
    return this.length;
  }

  /** Drops what was written since `mark` (a part about to be written another way). */
  rewind(mark: number): void {
    this.length = mark;
  }

  /** Writes one ASCII character, by its code. */
  char(code: number): void {
    if (this.length === this.bytes.length) this.grow(1);
    this.bytes[this.length++] = code;
  }

  /** Writes `text`, known to be ASCII (the writer's own punctuation and keys). */
  ascii(text: string): void {
    const count = text.length;
    if (this.length + count > this.bytes.length) this.grow(count);
    const bytes = this.bytes;
    const at = this.length;
    for (let i = 0; i < count; i++) bytes[at + i] = text.charCodeAt(i);
    this.length = at + count;
  }

  /** Writes `text` as a JSON string (quoted, escaped as `JSON.stringify` escapes it). */
  string(text: string): void {
    const count = text.length;
    if (this.length + count + 2 > this.bytes.length) this.grow(count + 2);
    const bytes = this.bytes;
    const at = this.length;
    bytes[at] = QUOTE;
    for (let i = 0; i < count; i++) {
      const code = text.charCodeAt(i);
      // Outside printable ASCII, or a character JSON escapes: the whole string the general way.
      if (code < 0x20 || code > 0x7e || code === QUOTE || code === BACKSLASH) {
        this.json(JSON.stringify(text));
        return;
      }
      bytes[at + 1 + i] = code;
    }
    bytes[at + 1 + count] = QUOTE;
    this.length = at + count + 2;
  }

  /** Writes `json`, any JSON text. */
  json(json: string): void {
    const count = json.length;
    for (let i = 0; i < count; i++) {
      if (json.charCodeAt(i) > 0x7f) {
        // At most three UTF-8 bytes per UTF-16 code unit; JSON.stringify's output is well-formed.
        if (this.length + count * 3 > this.bytes.length) this.grow(count * 3);
        this.length += this.bytes.write(json, this.length, 'utf8');
        this.utf8 = true;
        return;
      }
    }
    this.ascii(json);
  }

  /**
   * Writes a time in milliseconds as the output prints it:
   * `Math.round(ms * 100) / 100`, as `JSON.stringify` writes that number,
   * from its integer hundredths (no number-to-string conversion for the
   * times a request has).
   */
  time(ms: number): void {
    const hundredths = Math.round(ms * 100);
    // Zero (and -0) included: most contexts of a busy request are shorter than 5 us.
    if (!(hundredths >= 0 && hundredths < 1e15)) {
      this.ascii(JSON.stringify(hundredths / 100));
      return;
    }
    const whole = Math.floor(hundredths / 100);
    this.digits(whole);
    const fraction = hundredths - whole * 100;
    if (fraction === 0) return;
    this.char(DOT);
    const tens = Math.floor(fraction / 10);
    this.char(ZERO + tens);
    if (fraction !== tens * 10) this.char(ZERO + fraction - tens * 10);
  }

  /** Writes a whole number from 0 to 1e15 in decimal. */
  private digits(value: number): void {
    let count = 1;
    for (let power = 10; power <= value; power *= 10) count++;
    if (this.length + count > this.bytes.length) this.grow(count);
    const bytes = this.bytes;
    let at = this.length + count - 1;
    this.length += count;
    while (value >= 10) {
      const rest = Math.floor(value / 10);
      bytes[at--] = ZERO + value - rest * 10;
      value = rest;
    }
    bytes[at] = ZERO + value;
  }

  /** The text written, as a string; the buffer is empty again. */
  take(): string {
    const text = this.bytes.toString(this.utf8 ? 'utf8' : 'latin1', 0, this.length);
    this.clear();
    if (this.bytes.length > KEPT_CAPACITY) this.bytes = Buffer.allocUnsafeSlow(1024);
    return text;
  }

  /** Makes room for `count` more bytes (at least doubling, so that a long text is copied a few times only). */
  private grow(count: number): void {
    let capacity = this.bytes.length * 2;
    while (capacity < this.length + count) capacity *= 2;
    const bytes = Buffer.allocUnsafeSlow(capacity);
    this.bytes.copy(bytes, 0, 0, this.length);
    this.bytes = bytes;
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const DOT = 0x2e;
const ZERO = 0x30;
