import { Bar, CartesianGrid, ComposedChart, Legend, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatCount } from '../time/format';
import type { MinuteRow } from './ledger';

export const LEDGER_COLORS = {
  accepted: '#2563eb',
  stored: '#2f855a',
  deadLettered: '#dc2626',
  rejected: '#f59e0b',
} as const;

const compact = (v: number): string => (v >= 1e6 ? `${(v / 1e6).toFixed(1)}M` : v >= 1e4 ? `${(v / 1e3).toFixed(0)}k` : formatCount(v));

/**
 * Spans accepted vs stored per minute (steps, one per minute: they should lie on top of
 * each other, stored trailing by the lag), dead-lettered and rejected spans as bars.
 */
export function LedgerChart({ rows, formatTime }: { rows: MinuteRow[]; formatTime: (t: number) => string }) {
  return (
    <figure className="chart-card" data-testid="ingest-chart">
      <figcaption>Spans per minute: accepted vs stored</figcaption>
      <div className="chart-box">
        <ResponsiveContainer width="100%" height="100%">
          <ComposedChart data={rows} margin={{ top: 8, right: 16, bottom: 0, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
            <XAxis dataKey="time" type="number" scale="time" domain={['dataMin', 'dataMax']} tickFormatter={formatTime} tick={{ fontSize: 11 }} minTickGap={24} />
            <YAxis tickFormatter={compact} tick={{ fontSize: 11 }} width={56} allowDecimals={false} />
            <Tooltip labelFormatter={(t) => formatTime(Number(t))} formatter={(v) => (typeof v === 'number' ? formatCount(v) : String(v))} />
            <Legend wrapperStyle={{ fontSize: 12 }} />
            <Bar dataKey="rejected" name="rejected" fill={LEDGER_COLORS.rejected} stackId="lost" isAnimationActive={false} />
            <Bar dataKey="deadLettered" name="dead-lettered" fill={LEDGER_COLORS.deadLettered} stackId="lost" isAnimationActive={false} />
            <Line type="stepAfter" dataKey="accepted" name="accepted" stroke={LEDGER_COLORS.accepted} strokeWidth={2} dot={false} isAnimationActive={false} />
            <Line type="stepAfter" dataKey="stored" name="stored" stroke={LEDGER_COLORS.stored} strokeWidth={2} strokeDasharray="6 3" dot={false} isAnimationActive={false} />
          </ComposedChart>
        </ResponsiveContainer>
      </div>
    </figure>
  );
}
