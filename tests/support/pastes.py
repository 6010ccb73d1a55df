"""Server logs as users paste them into OpenUpgrade's issues, one per era and failure.

Each keeps the shape of a real paste (the issue it comes from is named), with database
names and paths changed.
"""

# 6.1 (openerp.*): a post-migration script failing on the data, OpenUpgrade 6.1's wording
OPENERP_61 = """\
2012-06-14 09:12:01,120 2310 INFO acme61 openerp.modules.loading: loading 34 modules...
2012-06-14 09:12:03,481 2310 INFO acme61 openerp.modules.migration: module account: Running migration [6.1.1.1>] post-migration
2012-06-14 09:12:03,481 2310 INFO acme61 openerp.modules.migration: module account: Running migration [6.1.1.1>] post-migration
2012-06-14 09:12:03,502 2310 ERROR acme61 openerp.sql_db: bad query: UPDATE account_journal SET company_id = 1 WHERE id = 7
Traceback (most recent call last):
  File "/opt/openerp-6.1/server/openerp/sql_db.py", line 226, in execute
    res = self._obj.execute(query, params)
ProgrammingError: column "company_id" of relation "account_journal" does not exist
LINE 1: UPDATE account_journal SET company_id = 1 WHERE id = 7
"""  # noqa: E501


# 7.0 (OpenUpgrade #1759): openupgradelib's decorator logs the repr, then the traceback
OPENUPGRADE_70 = """\
2019-02-22 11:08:49,316 18993 INFO erp_db openerp.modules.migration: module base: Running migration [7.0.1.3>] post-migration
2019-02-22 11:08:49,316 18993 INFO erp_db openerp.modules.migration: module base: Running migration [7.0.1.3>] post-migration
2019-02-22 11:08:49,317 18993 INFO erp_db OpenUpgrade: base: post-migration script called with version 6.1.1.3
2019-02-22 11:08:49,318 18993 ERROR erp_db OpenUpgrade: base: error in migration script base/migrations/7.0.1.3/post-migration.py: TypeError('get() takes exactly 2 arguments (3 given)',)
2019-02-22 11:08:49,318 18993 ERROR erp_db OpenUpgrade: get() takes exactly 2 arguments (3 given)
Traceback (most recent call last):
  File "/srv/openupgradelib/openupgradelib/openupgrade.py", line 1446, in wrapped_function
    if use_env2 else cr, version)
  File "/srv/OpenUpgrade/openerp/addons/base/migrations/7.0.1.3/post-migration.py", line 514, in migrate
    openupgrade.set_defaults(cr, pool, force_defaults, force=True)
TypeError: get() takes exactly 2 arguments (3 given)
2019-02-22 11:08:49,402 18993 CRITICAL erp_db openerp.service: Failed to initialize database `erp_db`.
Traceback (most recent call last):
  File "/srv/OpenUpgrade/openerp/service/__init__.py", line 55, in preload_registry
    db, registry = openerp.pooler.get_db_and_pool(dbname,update_module=update_module)
TypeError: get() takes exactly 2 arguments (3 given)
"""  # noqa: E501


# 10.0 (OpenUpgrade #1292): base's pre-migration cannot import openupgradelib
UNABLE_TO_LOAD_10 = """\
2018-03-21 11:10:03,094 14130 INFO ? odoo: Odoo version 10.0
2018-03-21 11:10:03,115 14130 INFO nmpl odoo.modules.loading: loading 1 modules...
2018-03-21 11:10:03,117 14130 ERROR nmpl odoo.modules.migration: module base: Unable to load pre-migration file base/migrations/10.0.1.3/pre-migration.py
Traceback (most recent call last):
  File "/home/ou/openupgrade/odoo/modules/migration.py", line 153, in migrate_module
    mod = imp.load_module(name, fp, pathname, ('.py', 'r', imp.PY_SOURCE))
  File "/home/ou/openupgrade/odoo/addons/base/migrations/10.0.1.3/pre-migration.py", line 4, in <module>
    from openupgradelib import openupgrade
  File "/usr/local/lib/python2.7/dist-packages/openupgradelib/openupgrade.py", line 27, in <module>
    from openupgradelib.openupgrade_tools import table_exists
ImportError: cannot import name table_exists
"""  # noqa: E501


# 11.0 (OpenUpgrade #2390): headers cut off, the registry fails while loading a script
REGISTRY_11 = """\
ERROR migration_db odoo.modules.registry: Failed to load registry
Traceback (most recent call last):
  File "/OpenUpgrade/odoo/modules/registry.py", line 85, in new
    odoo.modules.load_modules(registry._db, force_demo, status, update_module)
  File "/OpenUpgrade/odoo/modules/loading.py", line 151, in load_module_graph
    migrations.migrate_module(package, 'pre')
  File "/OpenUpgrade/odoo/modules/migration.py", line 191, in migrate_module
    mod = load_script(pyfile, name)
  File "/OpenUpgrade/odoo/modules/migration.py", line 38, in load_script
    return imp.load_module(module_name, fp, fname, ('.py', 'r', imp.PY_SOURCE))
ValueError: load_module arg#2 should be a file or None
2020-08-06 15:44:00,148 66 CRITICAL migration_db odoo.service.server: Failed to initialize database `migration_db`.
Traceback (most recent call last):
  File "/OpenUpgrade/odoo/service/server.py", line 1054, in preload_registries
    registry = Registry.new(dbname, update_module=update_module)
ValueError: load_module arg#2 should be a file or None
"""  # noqa: E501


# 16.0 (OCA/l10n-spain#3510): headers without timestamp, a migrate() of the wrong arity
SIGNATURE_16 = """\
INFO odoo odoo.modules.loading: Loading module l10n_es_facturae (386/490)
INFO odoo odoo.modules.migration: module l10n_es_facturae: Running migration [>16.0.1.7.0] pre-migration
WARNING odoo odoo.modules.loading: Transient module states were reset
ERROR odoo odoo.modules.registry: Failed to load registry
Traceback (most recent call last):
  File "/opt/odoo/src/odoo/odoo/odoo/modules/registry.py", line 90, in new
    odoo.modules.load_modules(registry, force_demo, status, update_module)
  File "/opt/odoo/src/odoo/odoo/odoo/modules/loading.py", line 183, in load_module_graph
    migrations.migrate_module(package, 'pre')
  File "/opt/odoo/src/odoo/odoo/odoo/modules/migration.py", line 189, in migrate_module
    migrate(self.cr, installed_version)
TypeError: migrate() takes 1 positional argument but 2 were given
"""


# 18.0 (OCA/project#1795): indented by two, the top of the traceback cut off
SIGNATURE_18_INDENTED = """\
  processed_modules += load_marked_modules(env, graph,
                         ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    File "/odoo/src/odoo/modules/loading.py", line 233, in load_module_graph
      migrations.migrate_module(package, 'post')
    File "/odoo/src/odoo/modules/migration.py", line 217, in migrate_module
      exec_script(self.cr, installed_version, pyfile, pkg.name, stage, version)
    File "/odoo/src/odoo/modules/migration.py", line 255, in exec_script
      raise TypeError("module %(addon)s: `migrate`'s signature should be `(cr, version)`, %(func)s is %(sig)s" % dict(locals(), func=mod.migrate, sig=sig))
  TypeError: module project_task_default_stage: `migrate`'s signature should be `(cr, version)`, <function migrate at 0x7fbc8a8b7c40> is (env, version)
  2026-08-24 16:25:44,862 92 INFO prod odoo.service.server: Initiating shutdown
"""  # noqa: E501


# 13.0 (OpenUpgrade #2446): a clean log where only base ran its scripts
ONLY_BASE_13 = """\
2020-11-22 10:00:00,001 4242 INFO ? odoo: Odoo version 13.0
2020-11-22 10:00:00,002 4242 INFO ? odoo: addons paths: ['/home/me/odoo-13/addons', '/home/me/OpenUpgrade-13/addons', '/home/me/OpenUpgrade-13/odoo/addons']
2020-11-22 10:00:01,000 4242 INFO v12 odoo.modules.loading: loading 1 modules...
2020-11-22 10:00:01,100 4242 INFO v12 odoo.modules.migration: module base: Running migration [>13.0.1.3] pre-migration
2020-11-22 10:00:02,000 4242 INFO v12 odoo.modules.registry: module base: creating or updating database tables
2020-11-22 10:00:09,000 4242 INFO v12 odoo.modules.migration: module base: Running migration [13.0.1.3>] post-migration
2020-11-22 10:00:10,000 4242 INFO v12 odoo.modules.loading: loading 42 modules...
2020-11-22 10:00:11,000 4242 INFO v12 odoo.modules.registry: module mail: creating or updating database tables
2020-11-22 10:00:12,000 4242 INFO v12 odoo.modules.loading: loading mail/data/mail_data.xml
2020-11-22 10:00:20,000 4242 INFO v12 odoo.modules.registry: module account: creating or updating database tables
2020-11-22 10:00:30,000 4242 INFO v12 odoo.modules.registry: module purchase: creating or updating database tables
2020-11-22 10:01:00,000 4242 INFO v12 odoo.modules.loading: Modules loaded.
"""  # noqa: E501
