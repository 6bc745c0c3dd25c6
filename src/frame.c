#include <json-c/json.h>
#include <string.h>

#include "frame.h"

void
frame_statuses(struct buf *out, int require_auth, long pid)
{
	buf_printf(out, "{\"statuses\": [{\"is_instance_manager\": false, "
	    "\"max_print_output_lines\": 1000, \"repo_path\": null, "
	    "\"repo_path_relative\": null, \"repo_path_relative_root\": null, "
	    "\"repo_path_root\": null, \"server_process_id\": %ld, "
	    "\"scheduler_process_id\": null, \"scheduler_status\": null, "
	    "\"instance_type\": null, \"disable_pipeline_edit_access\": true, "
	    "\"require_user_authentication\": %s, "
	    "\"require_user_permissions\": false, "
	    "\"project_type\": \"standalone\", \"project_uuid\": null}], "
	    "\"metadata\": {}}", pid, require_auth ? "true" : "false");
}

void
frame_projects(struct buf *out, const char *name, const char *version)
{
	buf_puts(out, "{\"projects\": [{\"emr_config\": null, "
	    "\"features\": {}, \"features_defined\": {}, "
	    "\"features_override\": {}, \"help_improve_mage\": false, "
	    "\"latest_version\": ");
	buf_json_str(out, version, strlen(version));
	buf_puts(out, ", \"name\": ");
	buf_json_str(out, name, strlen(name));
	buf_puts(out, ", \"openai_api_key\": null, \"pipelines\": null, "
	    "\"platform_settings\": null, \"project_uuid\": null, "
	    "\"projects\": null, \"remote_variables_dir\": null, "
	    "\"repo_path\": null, \"root_project\": false, \"settings\": null, "
	    "\"spark_config\": null, \"version\": ");
	buf_json_str(out, version, strlen(version));
	buf_puts(out, ", \"workspace_config_defaults\": null}], "
	    "\"metadata\": {}}");
}

void
frame_pipeline(struct buf *out, const struct pipeline *p)
{
	size_t	 n = strlen(p->uuid);

	buf_puts(out, "{\"pipeline\": {\"blocks\": [], \"callbacks\": [], "
	    "\"conditionals\": [], \"extensions\": {}, "
	    "\"cache_block_output_in_memory\": false, "
	    "\"concurrency_config\": {}, \"created_at\": null, "
	    "\"data_integration\": null, \"description\": null, "
	    "\"executor_config\": {}, \"executor_count\": 1, "
	    "\"executor_type\": null, \"name\": ");
	buf_json_str(out, p->uuid, n);
	buf_puts(out, ", \"notification_config\": {}, "
	    "\"remote_variables_dir\": null, \"retry_config\": ");
	buf_puts(out, p->retry_config != NULL ? p->retry_config : "{}");
	buf_puts(out, ", \"run_pipeline_in_one_process\": false, "
	    "\"settings\": {}, \"spark_config\": {}, \"tags\": [], "
	    "\"type\": \"python\", \"updated_at\": null, \"uuid\": ");
	buf_json_str(out, p->uuid, n);
	buf_puts(out, ", \"variables\": ");
	buf_puts(out, p->variables != NULL ? p->variables : "{}");
	buf_puts(out, ", \"variables_dir\": null, \"widgets\": []}, "
	    "\"metadata\": null}");
}

/* Python's name for the type a JSON value becomes in Mage (str(type(v))). */
static const char *
python_type(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:	return "<class 'NoneType'>";
	case json_type_boolean:	return "<class 'bool'>";
	case json_type_double:	return "<class 'float'>";
	case json_type_int:	return "<class 'int'>";
	case json_type_object:	return "<class 'dict'>";
	case json_type_array:	return "<class 'list'>";
	default:		return "<class 'str'>";
	}
}

int
frame_variables(struct buf *out, const struct pipeline *p)
{
	struct json_object	*o = NULL;
	int			 n = 0;

	if (p->variables != NULL &&
	    ((o = json_tokener_parse(p->variables)) == NULL ||
	    !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		return -1;
	}
	buf_puts(out, "{\"variables\": [{\"block\": {\"uuid\": \"global\"}, "
	    "\"name\": null, \"pipeline\": {\"uuid\": ");
	buf_json_str(out, p->uuid, strlen(p->uuid));
	buf_puts(out, "}, \"value\": null, \"variables\": [");
	if (o != NULL) {
		json_object_object_foreach(o, key, val) {
			buf_puts(out, n++ ? ", {\"uuid\": " : "{\"uuid\": ");
			buf_json_str(out, key, strlen(key));
			buf_puts(out, ", \"type\": ");
			buf_json_str(out, python_type(val),
			    strlen(python_type(val)));
			buf_puts(out, ", \"value\": ");
			buf_puts(out, json_object_to_json_string_ext(val,
			    JSON_C_TO_STRING_PLAIN |
			    JSON_C_TO_STRING_NOSLASHESCAPE));
			buf_putc(out, '}');
		}
	}
	buf_puts(out, "]}], \"metadata\": {}}");
	json_object_put(o);
	return 0;
}

void
frame_git_branch(struct buf *out)
{
	buf_puts(out, "{\"git_branch\": {\"is_git_integration_enabled\": "
	    "false, \"name\": null, \"files\": {}, \"modified_files\": [], "
	    "\"staged_files\": [], \"untracked_files\": []}, "
	    "\"metadata\": null}");
}
