import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { loadCase } from '../case-page/page.ts';
import type { CaseView } from '../cases/queries.ts';
import { resolveCustomer } from '../customers/queries.ts';
import type { WorkOrderStatus } from '../db/schema.ts';
import { loadDocumentsPanel } from '../documents/panel.ts';
import {
  type FieldErrors,
  FormError,
  parseForm,
  parseQuery,
  queryText,
  type RawForm,
  rawForm,
  singleLine,
  toSingleLine,
  typedValues,
  versionField,
} from '../forms/form.ts';
import { listActiveUsers } from '../users/queries.ts';
import { currentUser } from '../web/context.ts';
import { forbidden, notFound } from '../web/errors.ts';
import { formKeyOf } from '../web/form-key.ts';
import { isHtmx, redirectAfterPost, render } from '../web/render.ts';
import { statusChoices, workOrderStatuses } from './lifecycle.ts';
import {
  createProject,
  deleteProject,
  mayDeleteProject,
  ProjectInUseError,
  projectSchema,
  StaleProjectError,
  updateProject,
} from './projects.ts';
import {
  findProjectByNumber,
  findWorkOrderByNumber,
  listProjectChoices,
  listProjectOptions,
  listProjects,
  listProjectWorkOrders,
  listThreadSummary,
  listWorkOrders,
  type ProjectView,
  parseProjectFilter,
  parseWorkOrderFilter,
  projectFilterQuery,
  projectQuerySchema,
  type WorkOrderView,
  workOrderFilterQuery,
  workOrderQuerySchema,
} from './queries.ts';
import {
  createWorkOrder,
  createWorkOrderFromCase,
  findOpenWorkOrderOfCase,
  StaleWorkOrderError,
  updateWorkOrder,
  workOrderFromCaseSchema,
  workOrderSchema,
} from './work-orders.ts';

type Body = Record<string, string | undefined>;
type NumberParams = { number: string };

const newWorkOrderQuerySchema = z.object({ project: queryText });
const projectPickerQuerySchema = z.object({ project_q: queryText, project_id: queryText });
const projectEditSchema = projectSchema.extend({ version: versionField });
const workOrderEditSchema = workOrderSchema.extend({ version: versionField });
// The dialog's project search travels with its form.
const fromCaseSchema = workOrderFromCaseSchema.extend({ project_q: singleLine().default('') });
type FormState = { values: Body; errors: FieldErrors; stale?: boolean; status?: number; deleteError?: string };

const text = (v: unknown) => (v === null || v === undefined ? '' : String(v));

// The form names the customer by number (typed or picked) or by full name (resolveCustomer); the
// domain wants its id. A repeated field goes on as it came, for the schema to refuse.
async function withCustomerId(
  request: FastifyRequest,
  raw: RawForm,
): Promise<{ raw: RawForm; customerProblem?: string }> {
  if (typeof raw.customer !== 'string') return { raw: { ...raw, customer_id: raw.customer ?? '' } };
  const typed = toSingleLine(raw.customer);
  if (!typed) return { raw: { ...raw, customer_id: '' } };
  const resolved = await resolveCustomer(request.server.deps.db, typed);
  if ('problem' in resolved) return { raw: { ...raw, customer_id: '' }, customerProblem: resolved.problem };
  return { raw: { ...raw, customer_id: String(resolved.customer.id) } };
}

function projectValues(p: ProjectView): Body {
  return {
    number: p.number,
    name: p.name,
    customer: text(p.customer_number),
    responsible_id: text(p.responsible_id),
    active: p.active ? 'on' : '',
    version: String(p.version),
  };
}

function workOrderValues(w: WorkOrderView): Body {
  return {
    name: w.name,
    project_id: String(w.project_id),
    responsible_id: text(w.responsible_id),
    status: w.status,
    description_html: w.description_html,
    version: String(w.version),
  };
}

export async function registerWorkOrderRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  // ── Projects ───────────────────────────────────────────────────────────────────────────────

  const loadProject = async (request: FastifyRequest<{ Params: NumberParams }>) => {
    const project = await findProjectByNumber(db, request.params.number);
    if (!project) throw notFound();
    return project;
  };

  const showProjectForm = async (
    request: FastifyRequest,
    reply: FastifyReply,
    project: ProjectView | null,
    state: FormState,
  ) => {
    const user = currentUser(request);
    const [users, workOrders, documentsPanel] = await Promise.all([
      listActiveUsers(db),
      project ? listProjectWorkOrders(db, project.id) : [],
      project ? loadDocumentsPanel(db, { kind: 'project', id: project.id }, user) : null,
    ]);
    return reply.code(state.status ?? 200).view('projects/form', {
      project,
      users,
      workOrders,
      documentsPanel,
      values: state.values,
      errors: state.errors,
      stale: state.stale ?? false,
      mayDelete: mayDeleteProject(user),
      deleteError: state.deleteError ?? null,
    });
  };

  app.get('/projects', async (request, reply) => {
    const filter = parseProjectFilter(parseQuery(projectQuerySchema, request.query));
    const result = await listProjects(db, filter);
    return render(
      request,
      reply,
      { page: 'projects/index', fragment: 'projects/index/_rows' },
      { ...result, filter, projectFilterQuery },
    );
  });

  app.get('/projects/new', async (request, reply) =>
    showProjectForm(request, reply, null, {
      values: { active: 'on', responsible_id: String(currentUser(request).id) },
      errors: {},
    }),
  );

  app.post('/projects', async (request, reply) => {
    const { raw, customerProblem } = await withCustomerId(request, rawForm(request.body));
    const body = typedValues(raw);
    const form = parseForm(projectSchema, raw);
    const errors = form.ok ? {} : form.errors;
    if (customerProblem) errors.customer_id = customerProblem;
    if (!form.ok || customerProblem)
      return showProjectForm(request, reply, null, { values: body, errors, status: 422 });
    try {
      const project = await createProject(db, form.data, currentUser(request));
      return redirectAfterPost(
        request,
        reply,
        `/projects/${encodeURIComponent(project.number)}`,
        request.t('projects.created', { number: project.number }),
      );
    } catch (error) {
      if (error instanceof FormError)
        return showProjectForm(request, reply, null, { values: body, errors: error.fields, status: 422 });
      throw error;
    }
  });

  app.get<{ Params: NumberParams }>('/projects/:number', async (request, reply) => {
    const project = await loadProject(request);
    return showProjectForm(request, reply, project, { values: projectValues(project), errors: {} });
  });

  app.post<{ Params: NumberParams }>('/projects/:number', async (request, reply) => {
    const project = await loadProject(request);
    const { raw, customerProblem } = await withCustomerId(request, rawForm(request.body));
    const body = typedValues(raw);
    const form = parseForm(projectEditSchema, raw);
    const errors = form.ok ? {} : form.errors;
    if (customerProblem) errors.customer_id = customerProblem;
    if (!form.ok || customerProblem)
      return showProjectForm(request, reply, project, { values: body, errors, status: 422 });
    try {
      const { version, ...input } = form.data;
      const saved = await updateProject(db, project.id, version, input);
      return redirectAfterPost(
        request,
        reply,
        `/projects/${encodeURIComponent(saved.number)}`,
        request.t('common.saved'),
      );
    } catch (error) {
      if (error instanceof StaleProjectError) {
        // What this user typed stays in the form, now against the other person's saved version.
        const fresh = await loadProject(request);
        return showProjectForm(request, reply, fresh, {
          values: { ...body, version: String(fresh.version) },
          errors: {},
          stale: true,
          status: 409,
        });
      }
      if (error instanceof FormError)
        return showProjectForm(request, reply, project, { values: body, errors: error.fields, status: 422 });
      throw error;
    }
  });

  // Deleting is a sub-resource, for administrators only, and only of a project without work orders.
  app.post<{ Params: NumberParams }>('/projects/:number/deletion', async (request, reply) => {
    if (!mayDeleteProject(currentUser(request))) throw forbidden();
    const project = await loadProject(request);
    try {
      await deleteProject(db, project.id);
    } catch (error) {
      if (!(error instanceof ProjectInUseError)) throw error;
      return showProjectForm(request, reply, project, {
        values: projectValues(project),
        errors: {},
        status: 409,
        deleteError:
          error.workOrders > 0
            ? request.t('projects.delete_refused', { count: error.workOrders })
            : request.t('projects.delete_refused_documents', { count: error.documents }),
      });
    }
    return redirectAfterPost(request, reply, '/projects', request.t('projects.deleted', { number: project.number }));
  });

  // ── Work orders ────────────────────────────────────────────────────────────────────────────

  const loadWorkOrder = async (request: FastifyRequest<{ Params: NumberParams }>) => {
    const workOrder = await findWorkOrderByNumber(db, request.params.number);
    if (!workOrder) throw notFound();
    return workOrder;
  };

  const showWorkOrderForm = async (
    request: FastifyRequest,
    reply: FastifyReply,
    workOrder: WorkOrderView | null,
    state: FormState,
  ) => {
    const [users, projects, thread, documentsPanel] = await Promise.all([
      listActiveUsers(db),
      listProjectOptions(db, workOrder?.project_id ?? null),
      workOrder?.case_id ? listThreadSummary(db, workOrder.case_id) : [],
      workOrder ? loadDocumentsPanel(db, { kind: 'work_order', id: workOrder.id }, currentUser(request)) : null,
    ]);
    const statuses: readonly WorkOrderStatus[] = workOrder ? statusChoices(workOrder.status) : workOrderStatuses;
    return reply.code(state.status ?? 200).view('work-orders/form', {
      workOrder,
      users,
      projects,
      statuses,
      thread,
      documentsPanel,
      values: state.values,
      errors: state.errors,
      stale: state.stale ?? false,
    });
  };

  app.get('/work-orders', async (request, reply) => {
    const filter = parseWorkOrderFilter(parseQuery(workOrderQuerySchema, request.query));
    const [result, users] = await Promise.all([listWorkOrders(db, filter), listActiveUsers(db)]);
    return render(
      request,
      reply,
      { page: 'work-orders/index', fragment: 'work-orders/index/_rows' },
      { ...result, users, filter, workOrderFilterQuery, statuses: workOrderStatuses },
    );
  });

  // ?project=P0001 comes from a project's page: the new work order starts on that project.
  app.get('/work-orders/new', async (request, reply) => {
    const query = parseQuery(newWorkOrderQuerySchema, request.query);
    const project = query.project ? await findProjectByNumber(db, query.project) : undefined;
    return showWorkOrderForm(request, reply, null, {
      values: {
        status: 'planned',
        project_id: project ? String(project.id) : '',
        responsible_id: String(currentUser(request).id),
      },
      errors: {},
    });
  });

  app.post('/work-orders', async (request, reply) => {
    const body = typedValues(request.body);
    const formKey = formKeyOf(request.body);
    const form = parseForm(workOrderSchema, request.body);
    if (!form.ok) return showWorkOrderForm(request, reply, null, { values: body, errors: form.errors, status: 422 });
    try {
      const created = await createWorkOrder(db, form.data, currentUser(request), { formKey });
      return redirectAfterPost(
        request,
        reply,
        `/work-orders/${created.number}`,
        request.t('work_orders.created', { number: created.number }),
      );
    } catch (error) {
      if (error instanceof FormError)
        return showWorkOrderForm(request, reply, null, { values: body, errors: error.fields, status: 422 });
      throw error;
    }
  });

  app.get<{ Params: NumberParams }>('/work-orders/:number', async (request, reply) => {
    const workOrder = await loadWorkOrder(request);
    return showWorkOrderForm(request, reply, workOrder, { values: workOrderValues(workOrder), errors: {} });
  });

  app.post<{ Params: NumberParams }>('/work-orders/:number', async (request, reply) => {
    const workOrder = await loadWorkOrder(request);
    const body = typedValues(request.body);
    const form = parseForm(workOrderEditSchema, request.body);
    if (!form.ok)
      return showWorkOrderForm(request, reply, workOrder, { values: body, errors: form.errors, status: 422 });
    try {
      const { version, ...input } = form.data;
      await updateWorkOrder(db, workOrder.id, version, input);
      return redirectAfterPost(request, reply, `/work-orders/${workOrder.number}`, request.t('common.saved'));
    } catch (error) {
      if (error instanceof StaleWorkOrderError) {
        const fresh = await loadWorkOrder(request);
        return showWorkOrderForm(request, reply, fresh, {
          values: { ...body, version: String(fresh.version) },
          errors: {},
          stale: true,
          status: 409,
        });
      }
      if (error instanceof FormError)
        return showWorkOrderForm(request, reply, workOrder, { values: body, errors: error.fields, status: 422 });
      throw error;
    }
  });

  // ── Manage → Create work order on a case (H2) ─────────────────────────────────────────────
  // One URL, page or fragment: htmx loads the form into the case page's dialog; without
  // JavaScript the same form is a page of its own.

  const showCaseDialog = async (
    request: FastifyRequest,
    reply: FastifyReply,
    kase: CaseView,
    state: FormState & { projectQuery?: string },
  ) => {
    const [users, choices] = await Promise.all([
      listActiveUsers(db),
      listProjectChoices(db, kase.customer_id, state.projectQuery ?? ''),
    ]);
    return render(
      request,
      reply,
      { page: 'work-orders/from-case', fragment: 'work-orders/_from-case-form', status: state.status },
      { kase, users, choices, values: state.values, errors: state.errors, projectQuery: state.projectQuery ?? '' },
    );
  };

  const showExisting = (request: FastifyRequest, reply: FastifyReply, number: string) =>
    redirectAfterPost(request, reply, `/work-orders/${number}`, request.t('work_orders.case_has_one', { number }));

  app.get<{ Params: NumberParams }>('/cases/:number/work-order', async (request, reply) => {
    const kase = await loadCase(request);
    const existing = await findOpenWorkOrderOfCase(db, kase.id);
    if (existing) {
      if (!isHtmx(request)) return showExisting(request, reply, existing.number);
      return render(request, reply, { page: 'work-orders/_from-case-existing' }, { kase, existing });
    }
    return showCaseDialog(request, reply, kase, {
      values: { name: kase.title, responsible_id: text(kase.responsible_id), project_id: '' },
      errors: {},
    });
  });

  // The project picker's search: the options of the select, the case customer's projects first.
  app.get<{ Params: NumberParams }>('/cases/:number/work-order/projects', async (request, reply) => {
    const kase = await loadCase(request);
    const query = parseQuery(projectPickerQuerySchema, request.query);
    const choices = await listProjectChoices(db, kase.customer_id, (query.project_q ?? '').slice(0, 100));
    return reply.view('work-orders/_project-options', { choices, selected: query.project_id ?? '' });
  });

  app.post<{ Params: NumberParams }>('/cases/:number/work-order', async (request, reply) => {
    const kase = await loadCase(request);
    const body = typedValues(request.body);
    const formKey = formKeyOf(request.body);
    const form = parseForm(fromCaseSchema, request.body);
    const projectQuery = (form.ok ? form.data.project_q : toSingleLine(body.project_q ?? '')).slice(0, 100);
    if (!form.ok) {
      // Someone who clicked twice gets the one already made, not a complaint about the form.
      const existing = await findOpenWorkOrderOfCase(db, kase.id);
      if (existing) return showExisting(request, reply, existing.number);
      return showCaseDialog(request, reply, kase, { values: body, errors: form.errors, status: 422, projectQuery });
    }
    try {
      const { project_q: _, ...input } = form.data;
      const { workOrder, created } = await createWorkOrderFromCase(db, kase.id, input, currentUser(request), {
        formKey,
      });
      if (!created) return showExisting(request, reply, workOrder.number);
      return redirectAfterPost(
        request,
        reply,
        `/cases/${kase.number}`,
        request.t('work_orders.created_from_case', { number: workOrder.number }),
      );
    } catch (error) {
      if (error instanceof FormError)
        return showCaseDialog(request, reply, kase, { values: body, errors: error.fields, status: 422, projectQuery });
      throw error;
    }
  });
}
