import type { Router } from 'express';
import type { RouteDeps } from '../http/route.js';
import { createRouteRouter } from '../http/router.js';
import { auditRoutes } from './audit.js';
import { invitationRoutes } from './invitations.js';
import { keyRoutes } from './keys.js';
import { memberRoutes } from './members.js';
import { orgRoutes } from './orgs.js';
import { tokenRoutes } from './tokens.js';
import { workspaceMemberRoutes } from './workspace-members.js';
import { workspaceRoutes } from './workspaces.js';

/** Every management route (DESIGN.md "management", issue 3), relative to /api/v1. */
export const MANAGEMENT_ROUTES = [
  ...orgRoutes,
  ...workspaceRoutes,
  ...memberRoutes,
  ...invitationRoutes,
  ...workspaceMemberRoutes,
  ...keyRoutes,
  ...tokenRoutes,
  ...auditRoutes,
];

export function createManagementRouter(deps: RouteDeps): Router {
  return createRouteRouter(MANAGEMENT_ROUTES, deps);
}
