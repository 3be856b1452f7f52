/**
 * Ports that identify the server side of a connection whose start we did not see. Below 1024
 * everything counts; above, a list of common services (databases, proxies, RMM tools, brokers).
 */
const HIGH_SERVICE_PORTS = new Set([
  1080, 1194, 1433, 1521, 1723, 1883, 2049, 2082, 2083, 2181, 2375, 2376, 3128, 3268, 3306, 3389, 3478, 4369, 4500, 4789,
  5000, 5060, 5061, 5222, 5353, 5355, 5432, 5672, 5900, 5901, 5938, 5985, 5986, 6379, 6443, 6514, 6881, 7070, 8000, 8008,
  8040, 8041, 8080, 8081, 8443, 8883, 8888, 9000, 9001, 9042, 9090, 9092, 9100, 9200, 9300, 9418, 11211, 27017, 3333, 4444,
  14444, 45000, 5228, 19302, 1812, 1813, 3074, 51820,
]);

export function isServicePort(port: number): boolean {
  return (port > 0 && port < 1024) || HIGH_SERVICE_PORTS.has(port);
}
