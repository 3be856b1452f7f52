/**
 * The parts of d3-geo and topojson-client the collector uses (neither ships TypeScript types and
 * @types packages are not installed). GeoJSON is kept structural and loose on purpose: the
 * geometry comes from the bundled world-atlas file, not from the network.
 */
declare module 'd3-geo' {
  export interface GeoFeature {
    type: 'Feature';
    id?: string;
    properties: Record<string, unknown>;
    geometry: unknown;
  }
  export interface GeoProjection {
    (point: [number, number]): [number, number] | null;
    fitExtent(extent: [[number, number], [number, number]], object: unknown): GeoProjection;
  }
  export interface GeoPath {
    (object: unknown): string | null;
    digits(d: number): GeoPath;
  }
  export function geoNaturalEarth1(): GeoProjection;
  export function geoPath(projection?: GeoProjection): GeoPath;
  export function geoCentroid(object: unknown): [number, number];
  export function geoArea(object: unknown): number;
}

declare module 'topojson-client' {
  export function feature(topology: unknown, object: unknown): { type: 'FeatureCollection'; features: import('d3-geo').GeoFeature[] };
}
