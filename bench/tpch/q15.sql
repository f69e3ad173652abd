-- TPC-H Q15: top supplier. As in the specification, through the view revenue0, which the
-- benchmark creates before the query (q15.setup.sql) and drops after it (q15.teardown.sql).
SELECT
  s.s_suppkey,
  s.s_name,
  s.s_address,
  s.s_phone,
  r.total_revenue
FROM dfs.tpch.supplier s, dfs.tmp.revenue0 r
WHERE s.s_suppkey = r.supplier_no
  AND r.total_revenue = (SELECT MAX(r2.total_revenue) FROM dfs.tmp.revenue0 r2)
ORDER BY s.s_suppkey
