/**
 * GREASE values (RFC 8701 §2): 0x0A0A, 0x1A1A … 0xFAFA for cipher suites, extensions, named
 * groups, signature algorithms and versions. Clients insert them at random to keep servers
 * tolerant; fingerprints must ignore them or the same client would hash differently per connection.
 */
export function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);
}
