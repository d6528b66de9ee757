import { lazy, Suspense } from 'react';
import type { Location } from '../routing/routes';
import { AuditPage } from '../settings/AuditPage';
import { KeysPage } from '../settings/KeysPage';
import { MembersPage } from '../settings/MembersPage';
import { WorkspacesPage } from '../settings/WorkspacesPage';
import { TracePage } from '../traces/TracePage';
import { TracesPage } from '../traces/TracesPage';
import { Empty, Loading } from '../ui/states';

// The chart pages carry the chart library: loaded when first opened, so the trace explorer starts small.
const AnalyticsPage = lazy(() => import('../analytics/AnalyticsPage').then((m) => ({ default: m.AnalyticsPage })));
const UsagePage = lazy(() => import('../usage/UsagePage').then((m) => ({ default: m.UsagePage })));
const IngestPage = lazy(() => import('../ingest/IngestPage').then((m) => ({ default: m.IngestPage })));
const OrgIngestPage = lazy(() => import('../ingest/OrgIngestPage').then((m) => ({ default: m.OrgIngestPage })));

/** The page for a route inside an organization (access already checked by OrgShell). */
export function PageFor({ location }: { location: Location }) {
  const { route, query } = location;
  switch (route.page) {
    case 'traces':
      return <TracesPage workspaceId={route.workspaceId} query={query} />;
    case 'trace':
      return <TracePage workspaceId={route.workspaceId} traceId={route.traceId} query={query} />;
    case 'analytics':
      return (
        <Suspense fallback={<Loading label="Loading charts…" />}>
          <AnalyticsPage workspaceId={route.workspaceId} query={query} />
        </Suspense>
      );
    case 'ingest':
      return (
        <Suspense fallback={<Loading label="Loading charts…" />}>
          <IngestPage workspaceId={route.workspaceId} query={query} />
        </Suspense>
      );
    case 'org-ingest':
      return (
        <Suspense fallback={<Loading label="Loading…" />}>
          <OrgIngestPage query={query} />
        </Suspense>
      );
    case 'keys':
      return <KeysPage workspaceId={route.workspaceId} />;
    case 'usage':
      return (
        <Suspense fallback={<Loading label="Loading charts…" />}>
          <UsagePage query={query} />
        </Suspense>
      );
    case 'workspaces':
      return <WorkspacesPage />;
    case 'members':
      return <MembersPage />;
    case 'audit':
      return <AuditPage query={query} />;
    default:
      return <Empty title="There is no such page" />;
  }
}
