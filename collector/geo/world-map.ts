/**
 * The world map the dashboard draws, computed once on the server from the bundled Natural Earth
 * geometry (npm world-atlas) with d3-geo: one SVG path per country (110m resolution, small enough
 * to ship) and a marker point per ISO alpha-2 code (centroid of the country's largest part at 50m
 * resolution, so small states such as Singapore or Malta get a marker too). The browser only
 * draws the strings; it needs no map library and loads nothing from the network.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { geoArea, geoCentroid, geoNaturalEarth1, geoPath, type GeoFeature } from 'd3-geo';
import { feature } from 'topojson-client';
import { EXTRA_POINTS, NUMERIC_BY_ALPHA2 } from './country-codes.js';

export interface MapCountry {
  /** ISO alpha-2 code, '' when the shape has none (e.g. disputed areas). */
  code: string;
  name: string;
  /** SVG path data in map coordinates. */
  d: string;
}

export interface WorldMap {
  width: number;
  height: number;
  countries: MapCountry[];
  /** alpha-2 → [x, y] marker position in map coordinates. */
  points: Record<string, [number, number]>;
}

const WIDTH = 960;
const HEIGHT = 500;

let cached: WorldMap | undefined;

function loadFeatures(file: string): GeoFeature[] {
  const require = createRequire(import.meta.url);
  const topo = JSON.parse(readFileSync(require.resolve(`world-atlas/${file}`), 'utf8')) as { objects: { countries: unknown } };
  return feature(topo, topo.objects.countries).features;
}

/** The map, built on first use (≈100 ms) and kept. */
export function worldMap(): WorldMap {
  if (cached) return cached;
  const alpha2ByNumeric = new Map<string, string>();
  for (const [a2, num] of NUMERIC_BY_ALPHA2) alpha2ByNumeric.set(num, a2);
  const codeOf = (f: GeoFeature): string => {
    if (f.id !== undefined) return alpha2ByNumeric.get(String(f.id)) ?? '';
    return f.properties['name'] === 'Kosovo' ? 'XK' : '';
  };

  const shapes = loadFeatures('countries-110m.json').filter((f) => f.id !== '010'); // Antarctica: no attackers, lots of space
  const projection = geoNaturalEarth1().fitExtent(
    [
      [4, 4],
      [WIDTH - 4, HEIGHT - 4],
    ],
    { type: 'FeatureCollection', features: shapes },
  );
  const path = geoPath(projection).digits(1);
  const countries: MapCountry[] = [];
  for (const f of shapes) {
    const d = path(f);
    if (d) countries.push({ code: codeOf(f), name: String(f.properties['name'] ?? ''), d });
  }

  const points: Record<string, [number, number]> = {};
  const bestArea = new Map<string, number>();
  for (const f of loadFeatures('countries-50m.json')) {
    const code = codeOf(f);
    if (!code) continue;
    const area = geoArea(f);
    if ((bestArea.get(code) ?? -1) >= area) continue;
    const p = projection(geoCentroid(f));
    if (!p) continue;
    bestArea.set(code, area);
    points[code] = [Math.round(p[0] * 10) / 10, Math.round(p[1] * 10) / 10];
  }
  for (const [code, lonLat] of EXTRA_POINTS) {
    if (points[code]) continue;
    const p = projection([lonLat[0], lonLat[1]]);
    if (p) points[code] = [Math.round(p[0] * 10) / 10, Math.round(p[1] * 10) / 10];
  }
  cached = { width: WIDTH, height: HEIGHT, countries, points };
  return cached;
}
