-- TPC-H Q22: global sales opportunity
SELECT
  cntrycode,
  COUNT(*) AS numcust,
  SUM(c_acctbal) AS totacctbal
FROM (
  SELECT
    SUBSTRING(c.c_phone FROM 1 FOR 2) AS cntrycode,
    c.c_acctbal
  FROM dfs.tpch.customer c
  WHERE SUBSTRING(c.c_phone FROM 1 FOR 2) IN ('13', '31', '23', '29', '30', '18', '17')
    AND c.c_acctbal > (
      SELECT AVG(c2.c_acctbal)
      FROM dfs.tpch.customer c2
      WHERE c2.c_acctbal > 0.00
        AND SUBSTRING(c2.c_phone FROM 1 FOR 2) IN ('13', '31', '23', '29', '30', '18', '17'))
    AND NOT EXISTS (
      SELECT *
      FROM dfs.tpch.orders o
      WHERE o.o_custkey = c.c_custkey)
) AS custsale
GROUP BY cntrycode
ORDER BY cntrycode
