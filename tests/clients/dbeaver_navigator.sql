-- What DBeaver Community (24.x; its PostgreSQL plugin org.jkiss.dbeaver.ext.postgresql) sends over the
-- PostgreSQL JDBC driver when a user opens a new PostgreSQL connection ("Show all databases" off) and
-- expands the navigator down to a table's columns, opens the table (keys, indexes) and views its data.
-- Taken from the plugin's sources under plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/
-- ext/postgresql/model/ (DBeaver 24.x, "Copyright (C) 2010-2024 DBeaver Corp"), each block naming its
-- file. One statement per block, separated by lines holding only ";". DBeaver's "?" markers are sent by
-- the driver as "$1"; a "-- binds:" line names what the test binds to them, as DBeaver binds it:
-- database (its name), setting (a name), schema (the oid of schema customers, from the schemas
-- answer) and table (the oid of table customers.customers, from the tables answer).
--
-- PostgreDatabase.readDatabaseInfo (the connection's database, "Show all databases" off)
-- binds: database
SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE datname=$1
;
-- PostgreExecutionContext.refreshDefaults
SELECT current_schema(),session_user
;
-- PostgreExecutionContext.refreshDefaults
SHOW search_path
;
-- PostgreDataSource.initializeRemoteInstance ► SettingCache
-- binds: setting
select * from pg_catalog.pg_settings where name=$1
;
-- PostgreDataSource.initialize
SELECT version()
;
-- PostgreDatabase.cacheDataTypes (server 10 or later: the typcategory column is not probed)
SELECT t.oid,t.*,c.relkind,format_type(nullif(t.typbasetype, 0), t.typtypmod) as base_type_name, d.description
FROM pg_catalog.pg_type t
LEFT OUTER JOIN pg_catalog.pg_type et ON et.oid=t.typelem 
LEFT OUTER JOIN pg_catalog.pg_class c ON c.oid=t.typrelid
LEFT OUTER JOIN pg_catalog.pg_description d ON t.oid=d.objoid
WHERE t.typname IS NOT NULL
AND (c.relkind IS NULL OR c.relkind = 'c') AND (et.typcategory IS NULL OR et.typcategory <> 'C')
;
-- PostgreDataSource.prepareReadDatabaseListStatement (the databases list, "Show all databases" on)
SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE 1 = 1 AND datallowconn AND NOT datistemplate 
ORDER BY db.datname
;
-- PostgreDatabase.SchemaCache (the schemas list, no schema filter)
SELECT n.oid,n.*,d.description FROM pg_catalog.pg_namespace n
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=n.oid AND d.objsubid=0 AND d.classoid='pg_namespace'::regclass
 ORDER BY nspname
;
-- PostgreSchema.TableCache.prepareLookupStatement (server 10 or later: partition columns)
-- binds: schema
SELECT c.oid,c.*,d.description,pg_catalog.pg_get_expr(c.relpartbound, c.oid) as partition_expr,  pg_catalog.pg_get_partkeydef(c.oid) as partition_key 
FROM pg_catalog.pg_class c
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_class'::regclass
WHERE c.relnamespace=$1 AND c.relkind not in ('i','I','c')
;
-- PostgreSchema.TableCache.prepareChildrenStatement (one table's columns)
-- binds: table
SELECT c.relname,a.*,pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) as def_value,dsc.description,dep.objid
FROM pg_catalog.pg_attribute a
INNER JOIN pg_catalog.pg_class c ON (a.attrelid=c.oid)
LEFT OUTER JOIN pg_catalog.pg_attrdef ad ON (a.attrelid=ad.adrelid AND a.attnum = ad.adnum)
LEFT OUTER JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)
LEFT OUTER JOIN pg_depend dep on dep.refobjid = a.attrelid AND dep.deptype = 'i' and dep.refobjsubid = a.attnum and dep.classid = dep.refclassid
WHERE NOT a.attisdropped AND c.relkind not in ('i','I','c') AND c.oid=$1
ORDER BY a.attnum
;
-- PostgreSchema.ConstraintCache.prepareObjectsStatement (one table's keys)
-- binds: table
SELECT c.oid,c.*,t.relname as tabrelname,rt.relnamespace as refnamespace,d.description, case when c.contype='c' then "substring"(pg_get_constraintdef(c.oid), 7) else null end consrc_copy
FROM pg_catalog.pg_constraint c
INNER JOIN pg_catalog.pg_class t ON t.oid=c.conrelid
LEFT OUTER JOIN pg_catalog.pg_class rt ON rt.oid=c.confrelid
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_constraint'::regclass
WHERE c.conrelid=$1
ORDER BY c.oid
;
-- PostgreSchema.IndexCache.prepareObjectsStatement (one table's indexes)
-- binds: table
SELECT i.*,i.indkey as keys,c.relname,c.relnamespace,c.relam,c.reltablespace,tc.relname as tabrelname,dsc.description,pg_catalog.pg_get_expr(i.indpred, i.indrelid) as pred_expr,pg_catalog.pg_get_expr(i.indexprs, i.indrelid, true) as expr,pg_catalog.pg_relation_size(i.indexrelid) as index_rel_size,pg_catalog.pg_stat_get_numscans(i.indexrelid) as index_num_scans
FROM pg_catalog.pg_index i
INNER JOIN pg_catalog.pg_class c ON c.oid=i.indexrelid
INNER JOIN pg_catalog.pg_class tc ON tc.oid=i.indrelid
LEFT OUTER JOIN pg_catalog.pg_description dsc ON i.indexrelid=dsc.objoid
WHERE  i.indrelid=$1 ORDER BY c.relname
;
-- PostgreDatabase.RoleCache (the table's owner, shown in its properties)
SELECT a.oid,a.*,pd.description FROM pg_catalog.pg_roles a 
left join pg_catalog.pg_shdescription pd on a.oid = pd.objoid
ORDER BY a.rolname
;
-- "View data": JDBCTable.readData's select with the table alias "t", and the LIMIT that
-- PostgreDataSource's QueryTransformerLimit(false, true) appends for the first 200 rows
SELECT t.* FROM customers.customers t
LIMIT 200
