/** ISO 8601 UTC text with microsecond precision from µs since the epoch (ECS date_nanos accepts it). */
export function isoMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  const micros = Math.floor(us - ms * 1000);
  const base = new Date(ms).toISOString(); // ...T12:47:31.204Z
  return `${base.slice(0, -1)}${String(micros).padStart(3, '0')}Z`;
}
