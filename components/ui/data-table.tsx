"use client";
// Every list in the console is this table (TanStack Table): a search over its text, filters
// on chosen columns, sorting by clicking a column's header, and pages. Rows keep the order
// they came in until a header is clicked. Cells are the caller's (links, badges).
import { useMemo, useState, type ReactNode } from "react";
import {
  type ColumnDef,
  type ColumnFiltersState,
  type SortingState,
  flexRender,
  getCoreRowModel,
  getFilteredRowModel,
  getPaginationRowModel,
  getSortedRowModel,
  useReactTable,
} from "@tanstack/react-table";
import { ArrowDown, ArrowUp, ArrowUpDown } from "lucide-react";
import { Button } from "./button";
import { TableScroll } from "./table-scroll";

export interface DataColumn<T> {
  id: string;
  header: string;
  /** The cell as shown. */
  cell: (row: T) => ReactNode;
  /** What sorting, searching and filtering read (text or a number; a date as its time). */
  value?: (row: T) => string | number | null;
  /** Offer a filter with the column's distinct values. */
  filter?: boolean;
  className?: string;
}

export function DataTable<T>({
  rows,
  columns,
  label,
  rowTestId,
  rowAttrs,
  pageSize = 25,
  searchPlaceholder = "Search",
  framed = true,
}: {
  rows: T[];
  columns: DataColumn<T>[];
  label: string;
  rowTestId?: string;
  rowAttrs?: (row: T) => Record<string, string | undefined>;
  pageSize?: number;
  searchPlaceholder?: string;
  /** Its own border and background; off inside a Card. */
  framed?: boolean;
}) {
  const [sorting, setSorting] = useState<SortingState>([]);
  const [globalFilter, setGlobalFilter] = useState("");
  const [columnFilters, setColumnFilters] = useState<ColumnFiltersState>([]);
  const defs = useMemo<ColumnDef<T>[]>(
    () =>
      columns.map((c) => ({
        id: c.id,
        header: c.header,
        accessorFn: (row: T) => c.value?.(row) ?? null,
        cell: (ctx) => c.cell(ctx.row.original),
        enableSorting: !!c.value,
        enableGlobalFilter: !!c.value,
        filterFn: "equalsString",
        sortUndefined: "last",
      })),
    [columns],
  );
  const table = useReactTable({
    data: rows,
    columns: defs,
    state: { sorting, globalFilter, columnFilters },
    onSortingChange: setSorting,
    onGlobalFilterChange: setGlobalFilter,
    onColumnFiltersChange: setColumnFilters,
    globalFilterFn: (row, columnId, value: string) =>
      String(row.getValue(columnId) ?? "")
        .toLowerCase()
        .includes(value.toLowerCase()),
    getCoreRowModel: getCoreRowModel(),
    getSortedRowModel: getSortedRowModel(),
    getFilteredRowModel: getFilteredRowModel(),
    getPaginationRowModel: getPaginationRowModel(),
    initialState: { pagination: { pageSize } },
    autoResetPageIndex: false,
  });
  const filterable = columns.filter((c) => c.filter && c.value);
  const shown = table.getFilteredRowModel().rows.length;
  const pages = table.getPageCount();
  const page = table.getState().pagination.pageIndex;
  return (
    <div className={framed ? "overflow-hidden rounded-lg border border-slate-200 bg-white shadow-sm" : undefined}>
      <div className="flex flex-wrap items-center gap-3 border-b border-slate-100 px-4 py-2 text-xs" role="toolbar" aria-label={`${label}: search and filters`}>
        <input
          type="search"
          aria-label={`Search ${label.toLowerCase()}`}
          placeholder={searchPlaceholder}
          value={globalFilter}
          onChange={(e) => {
            setGlobalFilter(e.target.value);
            table.setPageIndex(0);
          }}
          className="w-56 rounded-md border border-slate-300 bg-white px-2 py-1 text-xs"
        />
        {filterable.map((c) => {
          const values = [...new Set(rows.map((r) => c.value!(r)).filter((v) => v !== null && v !== ""))].map(String).sort();
          return (
            // Not a <label>: the select's name is "Filter by …", so a form's own "Role" field stays the only "Role".
            <span key={c.id} className="flex items-center gap-1.5 text-slate-600">
              <span aria-hidden>{c.header}</span>
              <select
                aria-label={`Filter by ${c.header.toLowerCase()}`}
                className="rounded-md border border-slate-300 bg-white px-1.5 py-1 text-xs"
                value={(table.getColumn(c.id)?.getFilterValue() as string | undefined) ?? ""}
                onChange={(e) => {
                  table.getColumn(c.id)?.setFilterValue(e.target.value || undefined);
                  table.setPageIndex(0);
                }}
              >
                <option value="">All</option>
                {values.map((v) => (
                  <option key={v} value={v}>
                    {v}
                  </option>
                ))}
              </select>
            </span>
          );
        })}
        <span className="ml-auto text-slate-500" data-testid="table-count">
          {shown === rows.length ? `${rows.length} ${rows.length === 1 ? "row" : "rows"}` : `${shown} of ${rows.length}`}
        </span>
      </div>
      <TableScroll>
        <table className="w-full text-left text-sm" aria-label={label}>
          <thead className="bg-slate-50 text-xs uppercase tracking-wide text-slate-500">
            {table.getHeaderGroups().map((hg) => (
              <tr key={hg.id}>
                {hg.headers.map((h) => {
                  const sorted = h.column.getIsSorted();
                  return (
                    <th key={h.id} className="px-4 py-2 font-medium" aria-sort={sorted === "asc" ? "ascending" : sorted === "desc" ? "descending" : undefined}>
                      {h.column.getCanSort() ? (
                        <button type="button" onClick={h.column.getToggleSortingHandler()} className="inline-flex items-center gap-1 uppercase hover:text-slate-800">
                          {flexRender(h.column.columnDef.header, h.getContext())}
                          {sorted === "asc" ? (
                            <ArrowUp size={12} aria-hidden />
                          ) : sorted === "desc" ? (
                            <ArrowDown size={12} aria-hidden />
                          ) : (
                            <ArrowUpDown size={12} aria-hidden className="opacity-40" />
                          )}
                        </button>
                      ) : (
                        flexRender(h.column.columnDef.header, h.getContext())
                      )}
                    </th>
                  );
                })}
              </tr>
            ))}
          </thead>
          <tbody className="divide-y divide-slate-100">
            {table.getRowModel().rows.map((r) => (
              <tr key={r.id} className="hover:bg-slate-50" data-testid={rowTestId} {...(rowAttrs ? rowAttrs(r.original) : {})}>
                {r.getVisibleCells().map((cell) => (
                  <td key={cell.id} className={columns.find((c) => c.id === cell.column.id)?.className ?? "px-4 py-2"}>
                    {flexRender(cell.column.columnDef.cell, cell.getContext())}
                  </td>
                ))}
              </tr>
            ))}
            {shown === 0 ? (
              <tr>
                <td colSpan={columns.length} className="px-4 py-3 text-slate-500">
                  Nothing matches.
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </TableScroll>
      {pages > 1 ? (
        <div className="flex items-center justify-end gap-2 border-t border-slate-100 px-4 py-2 text-xs text-slate-600">
          <Button variant="secondary" className="px-2 py-1 text-xs" onClick={() => table.previousPage()} disabled={!table.getCanPreviousPage()}>
            Previous
          </Button>
          <span>
            Page {page + 1} of {pages}
          </span>
          <Button variant="secondary" className="px-2 py-1 text-xs" onClick={() => table.nextPage()} disabled={!table.getCanNextPage()}>
            Next
          </Button>
        </div>
      ) : null}
    </div>
  );
}
