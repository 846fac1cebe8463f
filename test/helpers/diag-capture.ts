import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';

/** Collects what the library reports through the OpenTelemetry diag logger. */
export class DiagCapture implements DiagLogger {
  readonly messages: { level: string; message: string }[] = [];

  /** Registers this logger globally at DEBUG until `uninstall()`. */
  install(): this {
    diag.setLogger(this, { logLevel: DiagLogLevel.DEBUG, suppressOverrideMessage: true });
    return this;
  }

  uninstall(): void {
    diag.disable();
  }

  warnings(): string[] {
    return this.messages.filter((m) => m.level === 'warn').map((m) => m.message);
  }

  error(message: string): void {
    this.messages.push({ level: 'error', message });
  }
  warn(message: string): void {
    this.messages.push({ level: 'warn', message });
  }
  info(message: string): void {
    this.messages.push({ level: 'info', message });
  }
  debug(message: string): void {
    this.messages.push({ level: 'debug', message });
  }
  verbose(message: string): void {
    this.messages.push({ level: 'verbose', message });
  }
}
