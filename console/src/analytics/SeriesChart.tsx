import type React from 'react';
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { SERVICE_PALETTE } from '../waterfall/colors';
import type { ChartRow } from './series';

export interface SeriesChartProps {
  title: string;
  rows: ChartRow[];
  keys: string[];
  kind?: 'line' | 'bar';
  stacked?: boolean;
  formatY: (v: number) => string;
  formatTime: (t: number) => string;
  colors?: Map<string, string>;
  testId?: string;
}

const colorAt = (i: number): string => SERVICE_PALETTE[i % SERVICE_PALETTE.length]!;

/** Dots for the non-zero values of a sparse series (zeros stay a plain line). */
const sparseDot =
  (fill: string) =>
  (p: { cx?: number; cy?: number; value?: unknown; index?: number }): React.ReactElement => {
    const show = typeof p.value === 'number' && p.value !== 0 && p.cx !== undefined && p.cy !== undefined;
    return show ? <circle key={p.index} cx={p.cx} cy={p.cy} r={3} fill={fill} /> : <g key={p.index} />;
  };

/** One chart of time series (recharts), a line or a bar per key. */
export function SeriesChart({ title, rows, keys, kind = 'line', stacked, formatY, formatTime, colors, testId }: SeriesChartProps) {
  const color = (k: string, i: number): string => colors?.get(k) ?? colorAt(i);
  // A line needs two points: a series with only a few values shows them as dots.
  const sparse = (k: string): boolean => rows.filter((r) => r[k] !== null && r[k] !== undefined && r[k] !== 0).length <= 3;
  const common = {
    data: rows,
    margin: { top: 8, right: 16, bottom: 0, left: 8 },
  };
  const axes = [
    <CartesianGrid key="grid" strokeDasharray="3 3" stroke="#e5e7eb" />,
    <XAxis key="x" dataKey="time" type="number" scale="time" domain={['dataMin', 'dataMax']} tickFormatter={formatTime} tick={{ fontSize: 11 }} minTickGap={24} />,
    <YAxis key="y" tickFormatter={formatY} tick={{ fontSize: 11 }} width={64} />,
    <Tooltip key="tip" labelFormatter={(t) => formatTime(Number(t))} formatter={(v) => (typeof v === 'number' ? formatY(v) : String(v))} />,
    <Legend key="legend" wrapperStyle={{ fontSize: 12 }} />,
  ];
  return (
    <figure className="chart-card" data-testid={testId}>
      <figcaption>{title}</figcaption>
      <div className="chart-box">
        <ResponsiveContainer width="100%" height="100%">
          {kind === 'bar' ? (
            <BarChart {...common}>
              {axes}
              {keys.map((k, i) => (
                <Bar key={k} dataKey={k} fill={color(k, i)} isAnimationActive={false} {...(stacked ? { stackId: 'a' } : {})} />
              ))}
            </BarChart>
          ) : (
            <LineChart {...common}>
              {axes}
              {keys.map((k, i) => (
                <Line key={k} type="monotone" dataKey={k} stroke={color(k, i)} dot={sparse(k) ? sparseDot(color(k, i)) : false} strokeWidth={2} connectNulls isAnimationActive={false} />
              ))}
            </LineChart>
          )}
        </ResponsiveContainer>
      </div>
    </figure>
  );
}
