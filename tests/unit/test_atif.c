/* ATIF trajectories from RolloutResults: the exact steps of a result with
 * tool calls and token ids, Anthropic-shaped answers, events without a
 * transcript, truncation markers, refusals and the file (docs/atif.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include <corral/atif.h>

#include "crl_common.h"

/* JSON written with ' for " (readable in C), as a parsed document. */
static cJSON *q(const char *text)
{
    char *s = strdup(text);
    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    cJSON *j = cJSON_Parse(s);
    if (!j)
        fail_msg("bad test JSON near: %.80s", cJSON_GetErrorPtr());
    free(s);
    return j;
}

/* The trajectory of a result written with ' for ". */
static cJSON *traj(const char *result)
{
    cJSON *r = q(result);
    char *text = cJSON_PrintUnformatted(r), *out = NULL;
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_atif_from_result(text, strlen(text), &out, &call), 0);
    cJSON *t = cJSON_Parse(out);
    assert_non_null(t);
    /* the same result always gives the same bytes */
    char *again = NULL;
    assert_int_equal(corral_atif_from_result(text, strlen(text), &again, &call), 0);
    assert_string_equal(out, again);
    free(again);
    free(out);
    free(text);
    cJSON_Delete(r);
    return t;
}

static void assert_json(const cJSON *have, const char *want_q)
{
    cJSON *want = q(want_q);
    if (!cJSON_Compare(have, want, 1)) {
        char *h = cJSON_PrintUnformatted(have), *w = cJSON_PrintUnformatted(want);
        print_error("have %s\nwant %s\n", h, w);
        free(h), free(w);
        fail();
    }
    cJSON_Delete(want);
}

static const cJSON *at(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* Two chat calls: reasoning, two tool calls (one result in the next
 * request, one only in the events), usage with cached tokens, token ids and
 * logprobs, a user message the harness added; then the final answer. */
static const char *const CHAT_RESULT =
    "{'rollout_id':'r-1','task':{'dir':'/t/x','name':'x'},'task_digest':'sha256:ab','attempt':2,"
    "'agent':{'name':'pi','version':'1.2.3','status':'success'},'reward':1,'reward_source':'reward.txt','error':null,"
    "'events':[{'kind':'tool_result','id':'c2','name':'read','is_error':true,'output':'no such file','seq':3}],"
    "'transcript':["
    " {'seq':1,'request_id':'a1','dialect':'chat_completions','status':200,'latency_ms':5,'stream':true,"
    "  'started_at':'2026-01-02T03:04:05.678Z',"
    "  'request':{'model':'m1','messages':[{'role':'system','content':'be brief'},"
    "   {'role':'user','content':[{'type':'text','text':'do it'},{'type':'image_url','image_url':{'url':'x'}}]}],"
    "   'tools':[{'type':'function','function':{'name':'bash','parameters':{'type':'object'}}}]},"
    "  'response':{'object':'chat.completion','model':'m1','choices':[{'index':0,'message':{'role':'assistant',"
    "   'content':'looking','reasoning_content':'think',"
    "   'tool_calls':[{'id':'c1','type':'function','function':{'name':'bash','arguments':'{\\'cmd\\':\\'ls\\'}'}},"
    "                 {'id':'c2','type':'function','function':{'name':'read','arguments':'not json'}}]},"
    "   'finish_reason':'tool_calls'}],"
    "   'usage':{'prompt_tokens':100,'completion_tokens':7,'prompt_tokens_details':{'cached_tokens':40},"
    "            'completion_tokens_details':{'reasoning_tokens':2}}},"
    "  'prompt_token_ids':[1,2],'token_ids':[5,6,7],'logprobs':[-0.5,-0.25,0]},"
    " {'seq':2,'request_id':'a2','dialect':'chat_completions','status':200,'latency_ms':6,'stream':false,"
    "  'request':{'model':'m1','messages':[{'role':'system','content':'be brief'},{'role':'user','content':'do it'},"
    "   {'role':'assistant','content':'looking','tool_calls':[]},"
    "   {'role':'tool','tool_call_id':'c1','content':'a.txt'},{'role':'user','content':'hurry'}]},"
    "  'response':{'choices':[{'message':{'role':'assistant','content':'done'},'finish_reason':'stop'}],"
    "   'usage':{'prompt_tokens':150,'completion_tokens':1}},"
    "  'token_ids':[9,1.5],'logprobs':[-1]}]}";

static void chat_result_maps_to_exact_steps(void **state)
{
    (void)state;
    cJSON *t = traj(CHAT_RESULT);
    assert_string_equal(at(t, "schema_version")->valuestring, "ATIF-v1.7");
    assert_string_equal(at(t, "session_id")->valuestring, "r-1");
    assert_json(at(t, "agent"), "{'name':'pi','version':'1.2.3','model_name':'m1','tool_definitions':"
                                "[{'type':'function','function':{'name':'bash','parameters':{'type':'object'}}}]}");
    assert_json(at(t, "steps"),
                "[{'step_id':1,'source':'system','message':'be brief'},"
                " {'step_id':2,'source':'user','message':'do it\\n[image_url]'},"
                " {'step_id':3,'source':'agent','timestamp':'2026-01-02T03:04:05.678Z','message':'looking',"
                "  'reasoning_content':'think',"
                "  'tool_calls':[{'tool_call_id':'c1','function_name':'bash','arguments':{'cmd':'ls'}},"
                "                {'tool_call_id':'c2','function_name':'read','arguments':{},"
                "                 'extra':{'raw_arguments':'not json'}}],"
                "  'observation':{'results':[{'source_call_id':'c1','content':'a.txt'},"
                "                            {'source_call_id':'c2','content':'no such file','extra':{'is_error':true}}]},"
                "  'metrics':{'prompt_tokens':100,'completion_tokens':7,'cached_tokens':40,"
                "             'prompt_token_ids':[1,2],'completion_token_ids':[5,6,7],'logprobs':[-0.5,-0.25,0],"
                "             'extra':{'reasoning_tokens':2}},"
                "  'llm_call_count':1,"
                "  'extra':{'seq':1,'request_id':'a1','dialect':'chat_completions','status':200,'latency_ms':5,"
                "           'finish_reason':'tool_calls'}},"
                " {'step_id':4,'source':'user','message':'hurry'},"
                " {'step_id':5,'source':'agent','message':'done',"
                "  'metrics':{'prompt_tokens':150,'completion_tokens':1,'logprobs':[-1]},'llm_call_count':1,"
                "  'extra':{'seq':2,'request_id':'a2','dialect':'chat_completions','status':200,'latency_ms':6,"
                "           'finish_reason':'stop'}}]");
    assert_json(at(t, "final_metrics"), "{'total_prompt_tokens':250,'total_completion_tokens':8,'total_cached_tokens':40,"
                                        "'total_steps':5,'extra':{'model_calls':2,'failed_calls':0,"
                                        "'truncated_calls':0,'dropped_calls':0}}");
    assert_json(at(t, "extra"), "{'rollout_id':'r-1','task_name':'x','task_digest':'sha256:ab','attempt':2,'reward':1,"
                                "'reward_source':'reward.txt','agent_status':'success'}");
    cJSON_Delete(t);
}

/* MCP tool calls the gate served (transcript "kind":"mcp_tool") make no
 * steps and count as no model call: the trajectory is the one without them. */
static void mcp_tool_entries_skipped(void **state)
{
    (void)state;
    static const char mcp[] = "{'seq':9,'request_id':'m1','dialect':'mcp','kind':'mcp_tool','tool':'echo','status':200,"
                              "'request':{'name':'echo','arguments':{'x':1}},"
                              "'response':{'content':[{'type':'text','text':'1'}],'isError':false},'latency_ms':1},";
    const char *at1 = strstr(CHAT_RESULT, "'transcript':[") + strlen("'transcript':[");
    const char *at2 = strstr(CHAT_RESULT, " {'seq':2,");
    size_t n = strlen(CHAT_RESULT) + 2 * sizeof mcp;
    char *with = malloc(n);
    snprintf(with, n, "%.*s%s%.*s%s%s", (int)(at1 - CHAT_RESULT), CHAT_RESULT, mcp, (int)(at2 - at1), at1, mcp, at2);
    cJSON *a = traj(CHAT_RESULT), *b = traj(with);
    char *sa = cJSON_PrintUnformatted(at(a, "steps")), *sb = cJSON_PrintUnformatted(at(b, "steps"));
    assert_string_equal(sa, sb);
    free(sa);
    free(sb);
    assert_true(cJSON_Compare(at(a, "final_metrics"), at(b, "final_metrics"), 1));
    assert_true(cJSON_Compare(at(a, "agent"), at(b, "agent"), 1));
    cJSON_Delete(a);
    cJSON_Delete(b);
    free(with);
}

/* An Anthropic Messages call: the normalized request gives the prompt, the
 * message's blocks the answer, cache reads count in prompt_tokens. */
static void messages_answer(void **state)
{
    (void)state;
    cJSON *t = traj("{'rollout_id':'r-2','agent':{'name':'claude-code'},'transcript':[{'seq':1,'dialect':'messages',"
                    "'request':{'model':'claude','system':'sys','messages':[{'role':'user','content':'hi'}]},"
                    "'normalized_request':{'model':'claude','messages':[{'role':'system','content':'sys'},"
                    " {'role':'user','content':'hi'}]},"
                    "'response':{'type':'message','role':'assistant','content':[{'type':'thinking','thinking':'hm'},"
                    " {'type':'text','text':'ok'},{'type':'tool_use','id':'toolu_1','name':'Bash','input':{'c':1}}],"
                    " 'stop_reason':'tool_use','usage':{'input_tokens':10,'output_tokens':3,"
                    " 'cache_read_input_tokens':5,'cache_creation_input_tokens':2}}}]}");
    assert_json(at(t, "agent"), "{'name':'claude-code','version':'unknown','model_name':'claude'}");
    assert_json(at(t, "steps"),
                "[{'step_id':1,'source':'system','message':'sys'},{'step_id':2,'source':'user','message':'hi'},"
                " {'step_id':3,'source':'agent','message':'ok','reasoning_content':'hm',"
                "  'tool_calls':[{'tool_call_id':'toolu_1','function_name':'Bash','arguments':{'c':1}}],"
                "  'metrics':{'prompt_tokens':17,'completion_tokens':3,'cached_tokens':5,"
                "             'extra':{'cache_creation_input_tokens':2}},"
                "  'llm_call_count':1,'extra':{'seq':1,'dialect':'messages','finish_reason':'tool_use'}}]");
    cJSON_Delete(t);
}

/* OpenAI Responses and Gemini answers, when a dialect's transcript keeps
 * them in their own shape: text, reasoning, calls and counts. */
static void responses_and_gemini_answers(void **state)
{
    (void)state;
    cJSON *t = traj("{'rollout_id':'r-6','agent':{'name':'codex','version':'1'},'transcript':[{'seq':1,'dialect':'responses',"
                    "'normalized_request':{'model':'gpt','messages':[{'role':'user','content':'go'}]},"
                    "'response':{'object':'response','status':'completed','output':["
                    " {'type':'reasoning','summary':[{'type':'summary_text','text':'plan'}]},"
                    " {'type':'message','role':'assistant','content':[{'type':'output_text','text':'ok'}]},"
                    " {'type':'function_call','call_id':'call_9','name':'shell','arguments':'{\\'cmd\\':[\\'ls\\']}'}],"
                    " 'usage':{'input_tokens':30,'output_tokens':4,'input_tokens_details':{'cached_tokens':10},"
                    " 'output_tokens_details':{'reasoning_tokens':1}}}},"
                    "{'seq':2,'dialect':'gemini','normalized_request':{'model':'gpt','messages':[{'role':'user','content':'go'},"
                    " {'role':'assistant','content':'ok'},{'role':'tool','tool_call_id':'call_9','content':'a b'}]},"
                    "'response':{'candidates':[{'content':{'role':'model','parts':[{'text':'hmm','thought':true},"
                    " {'text':'fine'},{'functionCall':{'id':'g1','name':'read','args':{'p':'a'}}}]},'finishReason':'STOP'}],"
                    " 'usageMetadata':{'promptTokenCount':50,'candidatesTokenCount':6,'thoughtsTokenCount':2,"
                    " 'cachedContentTokenCount':20}}}]}");
    assert_json(at(t, "steps"),
                "[{'step_id':1,'source':'user','message':'go'},"
                " {'step_id':2,'source':'agent','message':'ok','reasoning_content':'plan',"
                "  'tool_calls':[{'tool_call_id':'call_9','function_name':'shell','arguments':{'cmd':['ls']}}],"
                "  'observation':{'results':[{'source_call_id':'call_9','content':'a b'}]},"
                "  'metrics':{'prompt_tokens':30,'completion_tokens':4,'cached_tokens':10,'extra':{'reasoning_tokens':1}},"
                "  'llm_call_count':1,'extra':{'seq':1,'dialect':'responses','finish_reason':'completed'}},"
                " {'step_id':3,'source':'agent','message':'fine','reasoning_content':'hmm',"
                "  'tool_calls':[{'tool_call_id':'g1','function_name':'read','arguments':{'p':'a'}}],"
                "  'metrics':{'prompt_tokens':50,'completion_tokens':8,'cached_tokens':20,'extra':{'reasoning_tokens':2}},"
                "  'llm_call_count':1,'extra':{'seq':2,'dialect':'gemini','finish_reason':'STOP'}}]");
    cJSON_Delete(t);
}

/* No transcript: the steps come from the agent's events; nothing at all:
 * one system step says so. */
static void missing_transcript(void **state)
{
    (void)state;
    cJSON *t = traj("{'rollout_id':'r-3','agent':{'name':'pi','version':'1'},'transcript':[],'events':["
                    "{'kind':'assistant','content':[{'type':'thinking','thinking':'plan'},{'type':'text','text':'go'}],'seq':0},"
                    "{'kind':'tool_call','id':'t1','name':'bash','input':{'command':'ls'},'seq':1},"
                    "{'kind':'tool_result','id':'t1','output':'x','seq':2},"
                    "{'kind':'tool_result','id':'zz','output':{'a':1},'seq':3},"
                    "{'kind':'assistant','content':'bye','seq':4},{'kind':'done','seq':5}]}");
    assert_json(at(t, "steps"),
                "[{'step_id':1,'source':'agent','message':'go','reasoning_content':'plan','llm_call_count':1,"
                "  'tool_calls':[{'tool_call_id':'t1','function_name':'bash','arguments':{'command':'ls'}}],"
                "  'observation':{'results':[{'source_call_id':'t1','content':'x'},{'content':'{\\'a\\':1}'}]}},"
                " {'step_id':2,'source':'agent','message':'bye','llm_call_count':1}]");
    assert_null(at(t, "agent")->child->next->next); /* no model, no tools */
    cJSON_Delete(t);
    t = traj("{'rollout_id':'r-4','agent':{'name':'oracle','version':'1'},'reward':1}");
    assert_int_equal(cJSON_GetArraySize(at(t, "steps")), 1);
    assert_string_equal(at(cJSON_GetArrayItem(at(t, "steps"), 0), "source")->valuestring, "system");
    assert_json(at(t, "final_metrics"), "{'total_steps':1,'extra':{'model_calls':0,'failed_calls':0,"
                                        "'truncated_calls':0,'dropped_calls':0}}");
    cJSON_Delete(t);
}

/* Entries cut to their sizes stay agent steps marked truncated; calls not
 * recorded at all and failed calls are counted; the result's markers are
 * carried. */
static void truncation_markers_carried(void **state)
{
    (void)state;
    cJSON *t = traj("{'rollout_id':'r-5','agent':{'name':'pi','version':'1'},'transcript_truncated':true,"
                    "'events_truncated':3,'transcript':["
                    "{'seq':1,'dialect':'chat_completions','request':{'model':'m','messages':[{'role':'user','content':'u'}]},"
                    " 'response':{'choices':[{'message':{'content':'a'}}]},'status':200},"
                    "{'seq':2,'dialect':'chat_completions','request':null,'status':502,'error':'upstream down','response':null},"
                    "{'seq':3,'dialect':'chat_completions','request':null,'request_bytes':900,'truncated':true,"
                    " 'response_bytes':50,'response':null,'status':200},"
                    "{'truncated':true,'dropped':4}]}");
    assert_json(at(t, "steps"),
                "[{'step_id':1,'source':'user','message':'u'},"
                " {'step_id':2,'source':'agent','message':'a','llm_call_count':1,'extra':{'seq':1,"
                "  'dialect':'chat_completions','status':200}},"
                " {'step_id':3,'source':'agent','message':'','llm_call_count':1,'extra':{'seq':3,"
                "  'dialect':'chat_completions','status':200,'truncated':true,'request_bytes':900,'response_bytes':50}}]");
    assert_json(at(at(t, "final_metrics"), "extra"),
                "{'model_calls':1,'failed_calls':1,'truncated_calls':1,'dropped_calls':4}");
    assert_true(cJSON_IsTrue(at(at(t, "extra"), "transcript_truncated")));
    assert_int_equal(at(at(t, "extra"), "events_truncated")->valueint, 3);
    cJSON_Delete(t);
}

static void refusals(void **state)
{
    (void)state;
    struct corral_call call;
    corral_call_init(&call, 0);
    char *out = (char *)1;
    assert_int_equal(corral_atif_from_result("{\"x\":1}", 7, &out, &call), CORRAL_EINVAL);
    assert_null(out);
    assert_non_null(strstr(call.message, "rollout_id"));
    assert_int_equal(corral_atif_from_result("[1", 2, &out, &call), CORRAL_EINVAL);
    assert_int_equal(corral_atif_from_result("{\"rollout_id\":\"a\"}", 5, &out, &call), CORRAL_EINVAL);
}

/* The file: DIR/<id>/trajectory.json, whole; a rollout id that is a path is refused. */
static void writes_the_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_atif.XXXXXX", *path = NULL;
    assert_non_null(mkdtemp(dir));
    struct corral_call call;
    corral_call_init(&call, 0);
    const char *r = "{\"rollout_id\":\"r-9\",\"agent\":{\"name\":\"a\",\"version\":\"1\"}}";
    char sub[128];
    snprintf(sub, sizeof sub, "%s/new", dir);
    assert_int_equal(corral_atif_write(sub, r, strlen(r), &path, &call), 0);
    char want[160];
    snprintf(want, sizeof want, "%s/new/r-9/trajectory.json", dir);
    assert_string_equal(path, want);
    size_t len = 0;
    int err = 0;
    char *text = crl_read_file(path, &len, &err);
    assert_non_null(text);
    assert_true(len > 2 && text[len - 1] == '\n');
    cJSON *t = cJSON_Parse(text);
    assert_string_equal(at(t, "trajectory_id")->valuestring, "r-9");
    cJSON_Delete(t);
    free(text);
    free(path);
    const char *bad = "{\"rollout_id\":\"../x\"}";
    assert_int_equal(corral_atif_write(dir, bad, strlen(bad), NULL, &call), CORRAL_EINVAL);
    assert_int_equal(crl_rm_rf(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chat_result_maps_to_exact_steps),
        cmocka_unit_test(mcp_tool_entries_skipped),
        cmocka_unit_test(messages_answer),
        cmocka_unit_test(responses_and_gemini_answers),
        cmocka_unit_test(missing_transcript),
        cmocka_unit_test(truncation_markers_carried),
        cmocka_unit_test(refusals),
        cmocka_unit_test(writes_the_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
