-- TPC-H Q15's view, created (through the gateway, by Drill) before q15.sql runs
CREATE OR REPLACE VIEW dfs.tmp.revenue0 (supplier_no, total_revenue) AS
SELECT
  l_suppkey,
  SUM(l_extendedprice * (1 - l_discount))
FROM dfs.tpch.lineitem
WHERE l_shipdate >= DATE '1996-01-01'
  AND l_shipdate < DATE '1996-01-01' + INTERVAL '3' MONTH
GROUP BY l_suppkey
