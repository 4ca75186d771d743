import { declareOnce, ROUTE_ACCESS, type RouteAccess } from './route-security.js';

const PUBLIC: RouteAccess = { kind: 'public' };

/** The only way out of the global default-deny guard: the route needs no credential. */
export const Public = () => declareOnce(ROUTE_ACCESS, 'access (@Public/@Authenticated)', PUBLIC);
