DROP VIEW dfs.tmp.revenue0
